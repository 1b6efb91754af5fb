import Foundation
import KubeAPI

/// `labelSelector=` as the API server parses it (`labels.Parse`): requirements joined by commas,
/// each `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` or `!k`.
struct LabelQuery: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, [String])
        case notIn(String, [String])
        case exists(String)
        case notExists(String)
    }

    var requirements: [Requirement] = []

    init(_ text: String) throws(APIError) {
        for part in Self.split(text) {
            let s = part.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { continue }
            if s.hasPrefix("!") {
                requirements.append(.notExists(String(s.dropFirst()).trimmingCharacters(in: .whitespaces)))
            } else if let r = s.range(of: " notin ") ?? s.range(of: " in ") {
                let key = s[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                let rest = s[r.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw .badRequest("unable to parse requirement: found '\(rest)', expected: '('") }
                let values = rest.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                requirements.append(s[r].contains("notin") ? .notIn(key, values) : .isIn(key, values))
            } else if let r = s.range(of: "!=") {
                requirements.append(.notEquals(s[..<r.lowerBound].trimmingCharacters(in: .whitespaces), s[r.upperBound...].trimmingCharacters(in: .whitespaces)))
            } else if let r = s.range(of: "==") ?? s.range(of: "=") {
                requirements.append(.equals(s[..<r.lowerBound].trimmingCharacters(in: .whitespaces), s[r.upperBound...].trimmingCharacters(in: .whitespaces)))
            } else {
                requirements.append(.exists(s))
            }
        }
    }

    /// Splits on commas outside parentheses.
    static func split(_ text: String) -> [String] {
        var parts: [String] = [], cur = "", depth = 0
        for c in text {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == ",", depth == 0 { parts.append(cur); cur = "" } else { cur.append(c) }
        }
        parts.append(cur)
        return parts
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { r in
            switch r {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .isIn(let k, let vs): return labels[k].map(vs.contains) ?? false
            case .notIn(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
            case .exists(let k): return labels[k] != nil
            case .notExists(let k): return labels[k] == nil
            }
        }
    }
}

/// `fieldSelector=` with `=`, `==` and `!=` on the fields the API server indexes for the kind:
/// `metadata.name` and `metadata.namespace` everywhere; for pods also `spec.nodeName`,
/// `status.phase`, `spec.restartPolicy`, `spec.serviceAccountName` and `status.podIP`; for
/// events `involvedObject.*`, `reason` and `type`; for secrets `type`.
struct FieldQuery: Sendable {
    var requirements: [(field: String, value: String, equal: Bool)] = []

    init(_ text: String, resource: APIResource) throws(APIError) {
        for part in text.split(separator: ",") {
            let s = String(part)
            let equal: Bool
            let r: Range<String.Index>
            if let x = s.range(of: "!=") { r = x; equal = false } else if let x = s.range(of: "==") ?? s.range(of: "=") { r = x; equal = true } else {
                throw .badRequest("invalid selector: '\(s)'; can't understand '\(s)'")
            }
            let field = s[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            guard Self.supported(field, resource) else {
                throw .badRequest("field label not supported: \(field)")
            }
            requirements.append((field, s[r.upperBound...].trimmingCharacters(in: .whitespaces), equal))
        }
    }

    static func supported(_ field: String, _ r: APIResource) -> Bool {
        if field == "metadata.name" || field == "metadata.namespace" { return true }
        switch r.kind {
        case "Pod": return ["spec.nodeName", "status.phase", "spec.restartPolicy", "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"].contains(field)
        case "Event": return field.hasPrefix("involvedObject.") || ["reason", "type", "source", "reportingComponent"].contains(field)
        case "Secret": return field == "type"
        case "Namespace": return field == "status.phase"
        case "Job": return field == "status.successful"
        default: return false
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { req in
            var cur: JSONValue? = object
            for part in req.field.split(separator: ".") { cur = cur?[String(part)] }
            let value: String = switch cur {
            case .string(let s)?: s
            case .int(let i)?: String(i)
            case .bool(let b)?: b ? "true" : "false"
            default: ""
            }
            return (value == req.value) == req.equal
        }
    }
}

/// A list or watch request's selectors together.
struct Selection: Sendable {
    var labels: LabelQuery?
    var fields: FieldQuery?

    func matches(_ object: JSONValue) -> Bool {
        if let labels {
            var map: [String: String] = [:]
            for (k, v) in object["metadata"]?["labels"]?.objectValue ?? [:] { map[k] = v.stringValue }
            if !labels.matches(map) { return false }
        }
        return fields?.matches(object) ?? true
    }
}
