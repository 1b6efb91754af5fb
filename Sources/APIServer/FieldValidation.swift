import Foundation
import HTTPTypes
import KubeAPI
import Synchronization

/// A write's `fieldValidation` directive: what the API server does with the unknown fields of a
/// typed object. `Strict` refuses them (400 `strict decoding error`), `Warn` drops each with a
/// `Warning` header (kubectl prints `Warning: unknown field "spec.foo"`), `Ignore` drops them
/// silently. Without the parameter the server warns, its default since v1.27 — kubectl sends
/// `Strict` unless told `--validate=warn|false`, while other clients (the Python client, curl)
/// send nothing. Carried to admission in a task local, as the API server carries it in the
/// request's context; writes from inside Tandem (controllers, the node) stay strict.
enum FieldValidation: Sendable {
    case strict, warn, ignore

    @TaskLocal static var current: FieldValidation = .strict
    /// Where admission leaves the `Warning`s of the request being served.
    @TaskLocal static var warnings: Warnings?

    init(query value: String?) throws(APIError) {
        switch value ?? "" {
        case "", "Warn": self = .warn
        case "Strict": self = .strict
        case "Ignore": self = .ignore
        case let other: throw .badRequest("fieldValidation must be one of \"Ignore\", \"Strict\" or \"Warn\", got \"\(other)\"")
        }
    }

    /// `tree` without the fields at `paths` (`spec.containers[0].comand`, as decoding names them).
    static func pruning(_ tree: JSONValue, _ paths: [String]) -> JSONValue {
        paths.reduce(tree) { removing($0, components($1)[...]) }
    }

    private enum Step { case key(String), index(Int) }

    private static func components(_ path: String) -> [Step] {
        var steps: [Step] = []
        for part in path.split(separator: ".") {
            var rest = part[...]
            if let open = rest.firstIndex(of: "[") {
                steps.append(.key(String(rest[..<open])))
                rest = rest[open...]
                while rest.first == "[", let close = rest.firstIndex(of: "]") {
                    steps.append(.index(Int(rest[rest.index(after: rest.startIndex)..<close]) ?? -1))
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                steps.append(.key(String(rest)))
            }
        }
        return steps
    }

    private static func removing(_ tree: JSONValue, _ steps: ArraySlice<Step>) -> JSONValue {
        guard let step = steps.first else { return tree }
        switch (step, tree) {
        case (.key(let k), .object(var o)):
            if steps.count == 1 { o[k] = nil } else if let child = o[k] { o[k] = removing(child, steps.dropFirst()) }
            return .object(o)
        case (.index(let i), .array(var a)) where a.indices.contains(i):
            a[i] = removing(a[i], steps.dropFirst())
            return .array(a)
        default:
            return tree
        }
    }
}

/// The `Warning` headers of one request (RFC 7234 `299 - "text"`, as the API server writes them).
final class Warnings: Sendable {
    private let texts = Mutex<[String]>([])

    func add(_ more: [String]) { texts.withLock { $0 += more } }

    func fields() -> [HTTPField] {
        texts.withLock { $0 }.map { text in
            let quoted = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return HTTPField(name: HTTPField.Name("Warning")!, value: "299 - \"\(quoted)\"")
        }
    }
}
