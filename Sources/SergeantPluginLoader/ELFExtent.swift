#if canImport(Glibc)
import Glibc
#endif

// MARK: - ELFExtent

/// How many bytes an ELF file's own headers say it has: the end of its program headers, of
/// its section headers and of every loadable segment. A shared library being copied over its
/// path is shorter than that, and `dlopen` of such a file does not fail cleanly: the dynamic
/// loader maps segments past the end of the file and dies of SIGBUS touching them. Checking the
/// extent first turns a half-copied module into a clear ``PluginError``.
///
/// Only 64-bit little-endian ELF files are measured (the platforms this host runs on); other
/// files are left to `dlopen`, which refuses them with its own message.
enum ELFExtent {
    /// The bytes the file at `descriptor` needs, nil when it is not a 64-bit little-endian ELF
    /// file or its headers cannot be read.
    static func required(descriptor: Int32) -> Int? {
        var header = [UInt8](repeating: 0, count: 64)
        guard pread(descriptor, &header, 64, 0) == 64, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46,
              header[4] == 2, header[5] == 1 else { return nil }
        let programOffset = Int(integer(header, 32, 8))
        let programSize = Int(integer(header, 54, 2))
        let programCount = Int(integer(header, 56, 2))
        let sectionOffset = Int(integer(header, 40, 8))
        let sectionSize = Int(integer(header, 58, 2))
        let sectionCount = Int(integer(header, 60, 2))
        var end = max(programOffset + programSize * programCount, sectionOffset + sectionSize * sectionCount)
        guard programSize >= 56, programCount < 4096 else { return end }
        var table = [UInt8](repeating: 0, count: programSize * programCount)
        guard pread(descriptor, &table, table.count, off_t(programOffset)) == table.count else { return end }
        for index in 0..<programCount {
            let entry = index * programSize
            guard integer(table, entry, 4) == 1 else { continue }  // PT_LOAD
            end = max(end, Int(integer(table, entry + 8, 8) + integer(table, entry + 32, 8)))  // p_offset + p_filesz
        }
        return end
    }

    private static func integer(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<count).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }

    /// Why the ELF file at `path` of `size` bytes cannot be a whole library, or nil.
    static func truncation(path: String, size: Int) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let required = required(descriptor: descriptor), required > size else { return nil }
        return "worker module \(path) is cut short: \(size) bytes, where its ELF headers describe \(required)"
            + " (a copy in progress?); write the new file beside the old one and rename it over the path"
    }
}
