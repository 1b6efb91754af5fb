/// Go's formatting of values, which the API server's and the kubelet's messages and files use.
public enum GoSyntax {
    /// Go's `strconv.Quote` (the `%q` verb): printable characters kept, `"` and `\` escaped,
    /// control characters as `\n`, `\t`, … or `\xNN`, other non-printables as `\uNNNN`/`\UNNNNNNNN`.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                let v = scalar.value
                if v < 0x20 || v == 0x7F {
                    out += "\\x" + hex(v, 2)
                } else if v < 0x7F || isGoPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if v < 0x10000 {
                    out += "\\u" + hex(v, 4)
                } else {
                    out += "\\U" + hex(v, 8)
                }
            }
        }
        return out + "\""
    }

    /// `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    private static func isGoPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func hex(_ v: UInt32, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }
}
