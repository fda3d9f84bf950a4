import SergeantCore

// MARK: - One entry of a list

extension LocalConnector {
    /// One transaction: the first row of `source` with exactly these bytes leaves it and, given
    /// a `destination`, `replacement` lands at that list's tail.
    public func moveOne(_ item: [UInt8], from source: String, to destination: String?, as replacement: [UInt8]) throws(BrokerError) -> Bool {
        let database = database
        return try write("move one item of \(source)") { () throws(LocalFailure) -> Bool in
            var id: Int64?
            try database.run("SELECT id FROM sergeant_queue WHERE queue = ?1 AND item = ?2 ORDER BY position LIMIT 1",
                             [.text(source), .blob(item)]) { id = $0.int(0) }
            guard let id else { return false }
            try database.run("DELETE FROM sergeant_queue WHERE id = ?1", [.int(id)])
            if let destination { try Self.append([replacement], to: destination, high: false, in: database) }
            return true
        }
    }
}
