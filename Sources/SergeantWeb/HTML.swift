// MARK: - HTML

/// Text for an HTML page, where every value is escaped on the way in: the one place the
/// dashboard turns data (queue names, reasons, kwargs, host names) into markup.
///
/// ```swift
/// var html = HTML()
/// html.raw("<td>")
/// html.text(reason)     // escaped
/// html.raw("</td>")
/// ```
public struct HTML: Sendable {
    /// The markup so far.
    public private(set) var markup = ""

    /// An empty page.
    public init() {}

    /// Appends trusted markup (a literal of the dashboard's own).
    public mutating func raw(_ markup: String) { self.markup += markup }

    /// Appends `value` escaped for element content and for quoted attribute values.
    public mutating func text(_ value: String) { markup += Self.escape(value) }

    /// `value` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe in element
    /// content and in single- or double-quoted attribute values.
    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `value` percent-encoded for a URL's query (unreserved characters kept).
    public static func queryEscape(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}
