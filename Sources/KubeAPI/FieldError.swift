/// A field-level error in the API server's words (`k8s.io/apimachinery/pkg/util/validation/field`).
public struct FieldError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case required
        case invalid(value: String)
        case forbidden
        case notSupported(value: String, supported: [String])
        case duplicate(value: String)
        /// `field.Duplicate` whose value is not a string, printed the way Go's `%#v` prints it.
        case duplicateRaw(value: String)
        /// `field.NotFound`: a reference to something that does not exist (a volume, a container).
        case notFound(value: String)
        /// `field.NotSupported` whose value is not a string, printed the way Go's `%#v` prints it.
        case notSupportedRaw(value: String, supported: [String])
        case tooLong(value: String, max: Int)
        /// `field.TooMany`: a list longer than its schema's `maxItems`.
        case tooMany(actual: Int, max: Int)
        case unknownField
        /// A JSON type mismatch: the decoder's message, in the API server's shape.
        case typeMismatch
    }

    public var kind: Kind
    /// The field path, e.g. `spec.containers[0].name`.
    public var field: String
    public var detail: String

    public init(_ kind: Kind, _ field: String, _ detail: String = "") {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    public static func required(_ field: String, _ detail: String = "") -> FieldError { .init(.required, field, detail) }
    public static func invalid(_ field: String, _ value: String, _ detail: String) -> FieldError { .init(.invalid(value: value), field, detail) }
    public static func forbidden(_ field: String, _ detail: String) -> FieldError { .init(.forbidden, field, detail) }
    public static func notSupported(_ field: String, _ value: String, _ supported: [String]) -> FieldError {
        .init(.notSupported(value: value, supported: supported), field)
    }
    public static func duplicate(_ field: String, _ value: String) -> FieldError { .init(.duplicate(value: value), field) }
    public static func notFound(_ field: String, _ value: String) -> FieldError { .init(.notFound(value: value), field) }

    public var description: String {
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        switch kind {
        case .required:
            return "\(field): Required value" + (detail.isEmpty ? "" : ": \(detail)")
        case .invalid(let value):
            return "\(field): Invalid value: \(value): \(detail)"
        case .forbidden:
            return "\(field): Forbidden: \(detail)"
        case .notSupported(let value, let supported):
            return "\(field): Unsupported value: \(quoted(value)): supported values: " + supported.map(quoted).joined(separator: ", ")
        case .duplicate(let value):
            return "\(field): Duplicate value: \(quoted(value))"
        case .duplicateRaw(let value):
            return "\(field): Duplicate value: \(value)"
        case .notFound(let value):
            return "\(field): Not found: \(quoted(value))"
        case .notSupportedRaw(let value, let supported):
            return "\(field): Unsupported value: \(value): supported values: " + supported.map(quoted).joined(separator: ", ")
        case .tooLong(_, let max):
            return "\(field): Too long: may not be more than \(max) bytes"
        case .tooMany(let actual, let max):
            return "\(field): Too many: \(actual): must have at most \(max) items"
        case .unknownField:
            return "unknown field \(quoted(field))"
        case .typeMismatch:
            return detail
        }
    }
}

/// Why a manifest was refused: the object it concerned and every field error, printed the way
/// kubectl prints an API server's 422 (`The Pod "x" is invalid: …`).
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var kind: String?
    public var name: String?
    public var errors: [FieldError]
    /// A message that is not about a field (YAML syntax, unknown kind).
    public var message: String?

    public init(source: String, kind: String? = nil, name: String? = nil, errors: [FieldError] = [], message: String? = nil) {
        self.source = source
        self.kind = kind
        self.name = name
        self.errors = errors
        self.message = message
    }

    public var description: String {
        let prefix = source.isEmpty ? "error: " : "error: \(source): "
        if let message { return prefix + message }
        let unknown = errors.filter { if case .unknownField = $0.kind { return true } else { return false } }
        if !unknown.isEmpty, unknown.count == errors.count {
            // Strict decoding errors, as `kubectl apply --validate=strict` shows them.
            return prefix + "\(kind ?? "object") in version \"\(apiVersionHint)\" cannot be handled as a \(kind ?? "object"): strict decoding error: "
                + unknown.map(\.description).joined(separator: ", ")
        }
        let typeErrors = errors.filter { if case .typeMismatch = $0.kind { return true } else { return false } }
        if !typeErrors.isEmpty {
            return prefix + "\(kind ?? "object") in version \"\(apiVersionHint)\" cannot be handled as a \(kind ?? "object"): " + typeErrors.map(\.description).joined(separator: ", ")
        }
        let head = "The \(kind ?? "object") \"\(name ?? "")\" is invalid: "
        if errors.count == 1 { return prefix + head + errors[0].description }
        return prefix + head + "\n" + errors.map { "* \($0.description)" }.joined(separator: "\n")
    }

    var apiVersionHint: String {
        switch kind {
        case "Job", "CronJob": return "batch/v1"
        case "Deployment", "ReplicaSet": return "apps/v1"
        default: return "v1"
        }
    }
}
