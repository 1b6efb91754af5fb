import KubeAPI

/// A refused request, carried to the client as a `metav1.Status` whose reason and message are
/// the real API server's (`staging/src/k8s.io/apimachinery/pkg/api/errors`), so kubectl prints
/// `Error from server (NotFound): pods "x" not found` exactly as for a cluster.
public struct APIError: Error, Sendable {
    public var code: Int
    public var reason: String
    public var message: String
    public var details: JSONValue?

    public init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    static func details(_ r: APIResource, _ name: String, kindOverride: String? = nil) -> JSONValue {
        .object(["name": .string(name), "group": .string(r.group), "kind": .string(kindOverride ?? r.resource)])
    }

    public static func notFound(_ r: APIResource, _ name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(r.qualifiedName) \"\(name)\" not found", details: details(r, name))
    }

    public static func alreadyExists(_ r: APIResource, _ name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(r.qualifiedName) \"\(name)\" already exists", details: details(r, name))
    }

    public static func conflict(_ r: APIResource, _ name: String) -> APIError {
        APIError(code: 409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(r.qualifiedName) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                 details: details(r, name))
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    public static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    /// A path nothing is served at, with the empty `details` the real server sends: kubectl
    /// reads `details.name` of such a 404 (to tell "no such subresource" from "no such object",
    /// as `kubectl debug` does for `ephemeralcontainers`) and crashes without it.
    public static let pathNotFound = APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource",
                                              details: .object([:]))
    public static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    public static let methodNotAllowed = APIError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")

    public static func unsupportedMediaType(_ type: String, accepted: [String]) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType",
                 message: "the body of the request was in an unknown format - accepted media types include: " + accepted.joined(separator: ", "))
    }

    /// 422 Invalid with one cause per field error; kubectl prints `The Pod "x" is invalid:` and a
    /// `* field: message` line per cause.
    public static func invalid(_ r: APIResource, _ name: String, _ errors: [FieldError]) -> APIError {
        let causes: [JSONValue] = errors.map { e in
            let text = e.description
            let prefix = e.field + ": "
            return .object(["reason": .string(e.reason), "field": .string(e.field),
                            "message": .string(text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)])
        }
        let list = errors.count == 1 ? errors[0].description : "[" + errors.map(\.description).joined(separator: ", ") + "]"
        var d = details(r, name, kindOverride: r.kind)
        d = .object((d.objectValue ?? [:]).merging(["causes": .array(causes)]) { $1 })
        // `schema.GroupKind.String()`: `Deployment.apps`, plain `Pod` for the core group.
        let qualifiedKind = r.group.isEmpty ? r.kind : "\(r.kind).\(r.group)"
        return APIError(code: 422, reason: "Invalid", message: "\(qualifiedKind) \"\(name)\" is invalid: \(list)", details: d)
    }

    public var status: JSONValue {
        var o: [String: JSONValue] = [
            "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]), "status": .string("Failure"),
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { o["details"] = details }
        return .object(o)
    }
}

extension FieldError {
    /// The `CauseType` the API server reports for this error (`field.ErrorType`).
    var reason: String {
        switch kind {
        case .required: return "FieldValueRequired"
        case .invalid, .typeMismatch: return "FieldValueInvalid"
        case .forbidden: return "FieldValueForbidden"
        case .notSupported, .notSupportedRaw: return "FieldValueNotSupported"
        case .duplicate, .duplicateRaw: return "FieldValueDuplicate"
        case .notFound: return "FieldValueNotFound"
        case .tooLong: return "FieldValueTooLong"
        case .tooMany: return "FieldValueTooMany"
        case .unknownField: return "FieldValueInvalid"
        }
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
