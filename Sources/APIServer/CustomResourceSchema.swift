import Foundation
import KubeAPI

/// A CRD version's `schema.openAPIV3Schema`, applied to a custom object on every write as the
/// apiextensions-apiserver applies its structural schema: fields the schema does not declare are
/// pruned (and, under `fieldValidation=Strict`, refused), `default`s fill what is missing, and the
/// result is validated (type, `nullable`, `required`, `enum`, bounds, lengths, item counts,
/// `pattern`, `multipleOf`) with the messages of kube-openapi's validator turned into field
/// errors (`kubeOpenAPIResultToFieldErrors`). `allOf`/`anyOf`/`oneOf`/`not`, `format`s and
/// CEL rules (`x-kubernetes-validations`) are not checked.
struct CustomResourceSchema: Sendable, Hashable {
    var root: JSONValue

    // MARK: pruning and defaulting

    /// `object` with every field the schema does not declare removed (their paths, as the strict
    /// decoder names them, in `unknown`) and every missing field with a `default` filled in.
    /// `apiVersion`, `kind` and `metadata` at the root (and in an embedded resource) are the
    /// API server's own and are kept.
    func pruned(_ object: JSONValue, unknown: inout [String]) -> JSONValue {
        Self.prune(object, root, path: "", unknown: &unknown, isRoot: true)
    }

    /// `apiVersion`, `kind` and `metadata` of the object itself or of an embedded resource: the
    /// API server's own fields, neither pruned nor validated against the schema.
    private static func isServerOwned(_ key: String, in schema: JSONValue, isRoot: Bool) -> Bool {
        (isRoot || schema["x-kubernetes-embedded-resource"] == .bool(true)) && ["apiVersion", "kind", "metadata"].contains(key)
    }

    private static func prune(_ value: JSONValue, _ schema: JSONValue, path: String, unknown: inout [String], isRoot: Bool = false) -> JSONValue {
        switch value {
        case .object(let fields):
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == .bool(true)
            var kept: [String: JSONValue] = [:]
            for (key, child) in fields {
                let childPath = path.isEmpty ? key : path + "." + key
                if isServerOwned(key, in: schema, isRoot: isRoot) {
                    kept[key] = child
                } else if let sub = properties?[key] {
                    kept[key] = prune(child, sub, path: childPath, unknown: &unknown)
                } else if let additional, case .object = additional {
                    kept[key] = prune(child, additional, path: childPath, unknown: &unknown)
                } else if preserve || additional == .bool(true) {
                    kept[key] = child
                } else {
                    unknown.append(childPath)
                }
            }
            for (key, sub) in properties ?? [:] where kept[key] == nil {
                if let value = sub["default"] { kept[key] = prune(value, sub, path: path.isEmpty ? key : path + "." + key, unknown: &unknown) }
            }
            return .object(kept)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return value }
            return .array(items.enumerated().map { i, item in prune(item, itemSchema, path: "\(path)[\(i)]", unknown: &unknown) })
        default:
            return value
        }
    }

    // MARK: validation

    func validate(_ object: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        Self.validate(object, root, path: "", errors: &errors, isRoot: true)
        return errors
    }

    private static func validate(_ value: JSONValue, _ schema: JSONValue, path: String, errors: inout [FieldError], isRoot: Bool = false) {
        let shown = path.isEmpty ? "body" : path
        if value == .null {
            if schema["nullable"] == .bool(true) { return }
            if let type = schema["type"]?.stringValue {
                errors.append(.invalid(shown, "\"null\"", "\(shown) in body must be of type \(type): \"null\""))
            }
            return
        }
        let intOrString = schema["x-kubernetes-int-or-string"] == .bool(true)
        if intOrString, !matches(value, type: "integer"), !matches(value, type: "string") {
            errors.append(.invalid(shown, goValue(value), "\(shown) in body must be of type integer,string: \"\(typeName(value))\""))
            return
        }
        if !intOrString, let type = schema["type"]?.stringValue, !matches(value, type: type) {
            errors.append(.invalid(shown, goValue(value), "\(shown) in body must be of type \(type): \"\(typeName(value))\""))
            return
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            let supported = allowed.map { $0.stringValue ?? $0.compactJSON() }
            if case .string(let s) = value {
                errors.append(.notSupported(shown, s, supported))
            } else {
                errors.append(.init(.notSupportedRaw(value: goValue(value), supported: supported), shown))
            }
        }
        switch value {
        case .object(let fields):
            for key in (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue) where fields[key] == nil {
                errors.append(.required(path.isEmpty ? key : path + "." + key))
            }
            let properties = schema["properties"]?.objectValue ?? [:]
            for (key, child) in fields.sorted(by: { $0.key < $1.key }) {
                if isServerOwned(key, in: schema, isRoot: isRoot) { continue }
                let childPath = path.isEmpty ? key : path + "." + key
                if let sub = properties[key] {
                    validate(child, sub, path: childPath, errors: &errors)
                } else if let additional = schema["additionalProperties"], case .object = additional {
                    validate(child, additional, path: childPath, errors: &errors)
                }
            }
        case .array(let items):
            if let min = int(schema["minItems"]), items.count < min {
                errors.append(.invalid(shown, goValue(value), "\(shown) in body should have at least \(min) items"))
            }
            if let max = int(schema["maxItems"]), items.count > max {
                errors.append(.init(.tooMany(actual: items.count, max: max), shown))
            }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { validate(item, itemSchema, path: "\(path)[\(i)]", errors: &errors) }
            }
        case .string(let s):
            let length = s.unicodeScalars.count
            if let min = int(schema["minLength"]), length < min {
                errors.append(.invalid(shown, GoSyntax.quote(s), "\(shown) in body should be at least \(min) chars long"))
            }
            if let max = int(schema["maxLength"]), length > max {
                errors.append(.init(.tooLong(value: s, max: max), shown))
            }
            if let pattern = schema["pattern"]?.stringValue, let regex = try? NSRegularExpression(pattern: pattern),
               regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) == nil {
                errors.append(.invalid(shown, GoSyntax.quote(s), "\(shown) in body should match '\(pattern)'"))
            }
        case .int, .double:
            let n = number(value) ?? 0
            if let min = number(schema["minimum"]) {
                let exclusive = schema["exclusiveMinimum"] == .bool(true)
                if exclusive ? n <= min : n < min {
                    errors.append(.invalid(shown, goValue(value), "\(shown) in body should be greater than \(exclusive ? "" : "or equal to ")\(goNumber(min))"))
                }
            }
            if let max = number(schema["maximum"]) {
                let exclusive = schema["exclusiveMaximum"] == .bool(true)
                if exclusive ? n >= max : n > max {
                    errors.append(.invalid(shown, goValue(value), "\(shown) in body should be less than \(exclusive ? "" : "or equal to ")\(goNumber(max))"))
                }
            }
            if let factor = number(schema["multipleOf"]), factor > 0, (n / factor).rounded() != n / factor {
                errors.append(.invalid(shown, goValue(value), "\(shown) in body should be a multiple of \(goNumber(factor))"))
            }
        default:
            break
        }
    }

    /// OpenAPI's types as the validator checks them: an `integer` is a number with no fraction.
    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("number", .int), ("number", .double),
             ("integer", .int):
            return true
        case ("integer", .double(let d)):
            return d.rounded() == d
        default:
            return false
        }
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .null: "null"
        }
    }

    private static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        default: nil
        }
    }

    private static func int(_ v: JSONValue?) -> Int? { number(v).map { Int($0) } }

    private static func goNumber(_ d: Double) -> String { d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    /// A value as `field.Error` prints it: strings quoted, numbers and booleans bare, anything
    /// else as Go's `%#v` of the decoded JSON.
    private static func goValue(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): GoSyntax.quote(s)
        case .int(let i): String(i)
        case .double(let d): goNumber(d)
        case .bool(let b): b ? "true" : "false"
        case .null: "<nil>"
        case .array(let a): "[]interface {}{" + a.map(goElement).joined(separator: ", ") + "}"
        case .object(let o): "map[string]interface {}{" + o.keys.sorted().map { GoSyntax.quote($0) + ":" + goElement(o[$0]!) }.joined(separator: ", ") + "}"
        }
    }

    private static func goElement(_ value: JSONValue) -> String {
        switch value {
        case .int(let i): "\(i)"
        case .null: "interface {}(nil)"
        default: goValue(value)
        }
    }
}
