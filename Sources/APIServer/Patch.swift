import Foundation
import KubeAPI

/// The PATCH content types the API server accepts.
public enum PatchType: Sendable {
    /// `application/merge-patch+json` (RFC 7386): label, annotate, scale, CRDs.
    case merge
    /// `application/strategic-merge-patch+json`: client-side apply, edit, set image.
    case strategic
    /// `application/json-patch+json` (RFC 6902): `kubectl patch --type=json`.
    case json

    public init?(contentType: String) {
        let base = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch base {
        case "application/merge-patch+json": self = .merge
        case "application/strategic-merge-patch+json": self = .strategic
        case "application/json-patch+json": self = .json
        default: return nil
        }
    }

    public static let accepted = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"]
    /// What a custom resource's PATCH takes (the real server adds server-side apply's YAML).
    public static let acceptedForCustom = ["application/json-patch+json", "application/merge-patch+json"]
}

/// The three patch algorithms, on JSON trees so that fields Tandem does not model survive.
enum Patch {
    /// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var t: [String: JSONValue] = [:]
        if case .object(let existing) = target { t = existing }
        for (k, v) in p {
            if case .null = v { t[k] = nil } else { t[k] = mergePatch(t[k] ?? .null, v) }
        }
        return .object(t)
    }

    /// Merge keys of the lists the built-in types merge element by element (their
    /// `patchStrategy:"merge" patchMergeKey:"…"` struct tags in k8s.io/api v0.32); any other list
    /// is atomic and replaced whole. Keys depend only on the field name for the types served,
    /// except `ports`, whose key is `containerPort` in a container and `port` in a Service.
    static func mergeKey(field: String, elements: [JSONValue]) -> String? {
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "volumes", "imagePullSecrets", "env", "schedulingGates", "resourceClaims":
            return "name"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "ownerReferences": return "uid"
        case "conditions", "addresses": return "type"
        case "hostAliases", "podIPs", "hostIPs": return "ip"
        case "topologySpreadConstraints": return "topologyKey"
        case "ports": return elements.contains { $0["containerPort"] != nil } ? "containerPort" : "port"
        default: return nil
        }
    }

    /// Lists of scalars merged as sets (`finalizers`).
    static let primitiveMergeLists: Set<String> = ["finalizers", "podCIDRs"]

    /// Strategic merge patch (apimachinery `strategicpatch.StrategicMergePatch`) with its
    /// directives: `$patch` (`replace`, `delete`, `merge`), `$retainKeys`,
    /// `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
    static func strategicMerge(_ target: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard case .object(var p) = patch else { return patch }
        if p["$patch"]?.stringValue == "replace" {
            p["$patch"] = nil
            return .object(p)
        }
        if p["$patch"]?.stringValue == "delete" { return .null }
        p["$patch"] = nil
        var t: [String: JSONValue] = [:]
        if case .object(let existing) = target { t = existing }
        let retain = p.removeValue(forKey: "$retainKeys")?.arrayValue?.compactMap(\.stringValue)
        var orders: [String: [JSONValue]] = [:]
        var deletions: [String: [JSONValue]] = [:]
        for key in Array(p.keys) {
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = p.removeValue(forKey: key)?.arrayValue ?? []
            } else if key.hasPrefix("$deleteFromPrimitiveList/") {
                deletions[String(key.dropFirst("$deleteFromPrimitiveList/".count))] = p.removeValue(forKey: key)?.arrayValue ?? []
            }
        }
        for (k, v) in p {
            switch v {
            case .null:
                t[k] = nil
            case .object:
                let merged = try strategicMerge(t[k] ?? .null, v)
                if case .null = merged { t[k] = nil } else { t[k] = merged }
            case .array(let elements):
                t[k] = try mergeList(field: k, current: t[k]?.arrayValue ?? [], patch: elements, order: orders[k])
            default:
                t[k] = v
            }
        }
        for (k, values) in deletions {
            if let list = t[k]?.arrayValue { t[k] = .array(list.filter { !values.contains($0) }) }
        }
        for (k, order) in orders where p[k] == nil {
            if let list = t[k]?.arrayValue { t[k] = .array(reorder(list, order: order, key: mergeKey(field: k, elements: list + order))) }
        }
        if let retain {
            t = t.filter { retain.contains($0.key) }
        }
        return .object(t)
    }

    static func mergeList(field: String, current: [JSONValue], patch: [JSONValue], order: [JSONValue]?) throws(APIError) -> JSONValue {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return .array(patch.filter { $0["$patch"] == nil })
        }
        if primitiveMergeLists.contains(field) {
            var out = current
            for v in patch where !out.contains(v) { out.append(v) }
            return .array(reorder(out, order: order ?? [], key: nil))
        }
        guard let key = mergeKey(field: field, elements: current + patch) else { return .array(patch) }
        var out = current
        for element in patch {
            guard let id = element[key] else { throw .badRequest("map: \(element) does not contain declared merge key: \(key)") }
            let index = out.firstIndex { $0[key] == id }
            if element["$patch"]?.stringValue == "delete" {
                if let index { out.remove(at: index) }
                continue
            }
            if let index {
                out[index] = try strategicMerge(out[index], element)
            } else {
                out.append(try strategicMerge(.null, element))
            }
        }
        return .array(reorder(out, order: order ?? [], key: key))
    }

    /// `$setElementOrder`: the listed elements in the given order; elements only on the server
    /// keep their place relative to the others. A key listed twice (`kubectl debug -c NAME`
    /// with a NAME already taken) orders its one element once, as Go's sort does: the patch
    /// merged into it, it is not duplicated.
    static func reorder(_ list: [JSONValue], order: [JSONValue], key: String?) -> [JSONValue] {
        guard !order.isEmpty else { return list }
        let ident: (JSONValue) -> JSONValue = { v in key.flatMap { k in v[k] } ?? v }
        var wanted: [JSONValue] = []
        for w in order.map(ident) where !wanted.contains(w) { wanted.append(w) }
        var ordered = wanted.compactMap { w in list.first { ident($0) == w } }
        for (i, e) in list.enumerated() where !wanted.contains(ident(e)) {
            ordered.insert(e, at: min(i, ordered.count))
        }
        return ordered
    }

    /// RFC 6902 JSON patch: add, remove, replace, move, copy, test.
    static func jsonPatch(_ target: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard let ops = patch.arrayValue else { throw .badRequest("json patch must be an array of operations") }
        var doc = target
        for op in ops {
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw .badRequest("json patch operation needs \"op\" and \"path\"")
            }
            let tokens = pointer(path)
            switch name {
            case "add": doc = try set(doc, tokens, op["value"] ?? .null, insert: true)
            case "replace":
                _ = try get(doc, tokens)
                doc = try set(doc, tokens, op["value"] ?? .null, insert: false)
            case "remove": doc = try remove(doc, tokens)
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw .badRequest("json patch \(name) needs \"from\"") }
                let value = try get(doc, pointer(from))
                if name == "move" { doc = try remove(doc, pointer(from)) }
                doc = try set(doc, tokens, value, insert: true)
            case "test":
                if try get(doc, tokens) != (op["value"] ?? .null) { throw .badRequest("testing value \(path) failed") }
            default: throw .badRequest("unexpected json patch operation \"\(name)\"")
            }
        }
        return doc
    }

    static func pointer(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ doc: JSONValue, _ tokens: [String]) throws(APIError) -> JSONValue {
        var cur = doc
        for t in tokens {
            if let o = cur.objectValue, let v = o[t] { cur = v } else if let a = cur.arrayValue, let i = Int(t), a.indices.contains(i) { cur = a[i] } else {
                throw .badRequest("jsonpatch: path /\(tokens.joined(separator: "/")) does not exist")
            }
        }
        return cur
    }

    static func set(_ doc: JSONValue, _ tokens: [String], _ value: JSONValue, insert: Bool) throws(APIError) -> JSONValue {
        guard let first = tokens.first else { return value }
        let rest = Array(tokens.dropFirst())
        if var o = doc.objectValue {
            o[first] = rest.isEmpty ? value : try set(o[first] ?? .null, rest, value, insert: insert)
            return .object(o)
        }
        if var a = doc.arrayValue {
            let i = first == "-" ? a.count : Int(first) ?? -1
            guard i >= 0, i <= a.count else { throw .badRequest("jsonpatch: index \(first) out of range") }
            if rest.isEmpty {
                if insert { a.insert(value, at: i) } else if i < a.count { a[i] = value } else { throw .badRequest("jsonpatch: index \(first) out of range") }
            } else {
                guard i < a.count else { throw .badRequest("jsonpatch: index \(first) out of range") }
                a[i] = try set(a[i], rest, value, insert: insert)
            }
            return .array(a)
        }
        throw .badRequest("jsonpatch: cannot set /\(tokens.joined(separator: "/"))")
    }

    static func remove(_ doc: JSONValue, _ tokens: [String]) throws(APIError) -> JSONValue {
        guard let first = tokens.first else { return .null }
        let rest = Array(tokens.dropFirst())
        if var o = doc.objectValue, o[first] != nil {
            if rest.isEmpty { o[first] = nil } else { o[first] = try remove(o[first]!, rest) }
            return .object(o)
        }
        if var a = doc.arrayValue, let i = Int(first), a.indices.contains(i) {
            if rest.isEmpty { a.remove(at: i) } else { a[i] = try remove(a[i], rest) }
            return .array(a)
        }
        throw .badRequest("jsonpatch: path /\(tokens.joined(separator: "/")) does not exist")
    }
}
