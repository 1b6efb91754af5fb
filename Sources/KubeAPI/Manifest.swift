import Foundation
import Yams

/// One object read from a manifest.
public enum KubeObject: Sendable, Hashable {
    case pod(Pod)
    case job(Job)
    case cronJob(CronJob)
    case deployment(Deployment)
    case replicaSet(ReplicaSet)
    case configMap(ConfigMap)
    case secret(Secret)
    case service(Service)
    case namespace(Namespace)

    public var kind: String {
        switch self {
        case .pod: return "Pod"
        case .job: return "Job"
        case .cronJob: return "CronJob"
        case .deployment: return "Deployment"
        case .replicaSet: return "ReplicaSet"
        case .configMap: return "ConfigMap"
        case .secret: return "Secret"
        case .service: return "Service"
        case .namespace: return "Namespace"
        }
    }

    public var metadata: ObjectMeta {
        switch self {
        case .pod(let o): return o.metadata
        case .job(let o): return o.metadata
        case .cronJob(let o): return o.metadata
        case .deployment(let o): return o.metadata
        case .replicaSet(let o): return o.metadata
        case .configMap(let o): return o.metadata
        case .secret(let o): return o.metadata
        case .service(let o): return o.metadata
        case .namespace(let o): return o.metadata
        }
    }

    /// The object as JSON, for `-o json|yaml` output.
    public func jsonValue() throws -> JSONValue {
        switch self {
        case .pod(let o): return try JSONValue(encoding: o)
        case .job(let o): return try JSONValue(encoding: o)
        case .cronJob(let o): return try JSONValue(encoding: o)
        case .deployment(let o): return try JSONValue(encoding: o)
        case .replicaSet(let o): return try JSONValue(encoding: o)
        case .configMap(let o): return try JSONValue(encoding: o)
        case .secret(let o): return try JSONValue(encoding: o)
        case .service(let o): return try JSONValue(encoding: o)
        case .namespace(let o): return try JSONValue(encoding: o)
        }
    }
}

extension JSONValue {
    /// Encodes any `Encodable` into a JSON tree.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONValue(parsing: JSONEncoder().encode(value))
    }

    /// Decodes a typed object from this tree.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(compactJSON().utf8))
    }

    /// Compact JSON text, keys in no particular order (as `JSONEncoder` writes a dictionary):
    /// the store's rows and the API server's responses. Written directly rather than through
    /// `Codable`, which visits this enum one single-value container at a time.
    public func compactJSON() -> String {
        String(decoding: compactJSONBytes(), as: UTF8.self)
    }

    /// `compactJSON()` as UTF-8 bytes, for a response body: appending bytes to an array costs
    /// a fraction of appending to a `String`, which a 500-row `kubectl get pods` page felt.
    public func compactJSONBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        writeCompact(into: &out)
        return out
    }

    /// A scalar as JSON text (the one rule both writers share).
    private func writeScalar(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d): out += (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array, .object: break
        }
    }

    private func writeCompact(into out: inout [UInt8]) {
        switch self {
        case .null, .bool, .int, .double, .string: writeScalar(into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.writeCompact(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (k, v) in o {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONValue.appendQuoted(k, to: &out)
                out.append(UInt8(ascii: ":"))
                v.writeCompact(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Renders as JSON text with sorted keys, four-space indent, as `kubectl -o json` does.
    public func jsonText() -> String {
        var out: [UInt8] = []
        write(into: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8], indent: Int) {
        let pad = String(repeating: "    ", count: indent).utf8
        let inner = String(repeating: "    ", count: indent + 1).utf8
        switch self {
        case .null, .bool, .int, .double, .string: writeScalar(into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]".utf8; return }
            out += "[\n".utf8
            for (i, v) in a.enumerated() {
                out += inner
                v.write(into: &out, indent: indent + 1)
                out += (i == a.count - 1 ? "\n" : ",\n").utf8
            }
            out += pad
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            if o.isEmpty { out += "{}".utf8; return }
            out += "{\n".utf8
            let keys = o.keys.sorted()
            for (i, k) in keys.enumerated() {
                out += inner
                JSONValue.appendQuoted(k, to: &out)
                out += ": ".utf8
                o[k]!.write(into: &out, indent: indent + 1)
                out += (i == keys.count - 1 ? "\n" : ",\n").utf8
            }
            out += pad
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `s` as a JSON string, escaped as Go's `encoding/json` escapes it (`<`, `>`, `&` too),
    /// appended to `out`. A string with nothing to escape (nearly every one in an object) is
    /// copied whole.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "<")
                && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "&") }) {
            out += s.utf8
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case UInt8(ascii: "\n"): out += "\\n".utf8
            case UInt8(ascii: "\r"): out += "\\r".utf8
            case UInt8(ascii: "\t"): out += "\\t".utf8
            case UInt8(ascii: "<"): out += "\\u003c".utf8
            case UInt8(ascii: ">"): out += "\\u003e".utf8
            case UInt8(ascii: "&"): out += "\\u0026".utf8
            case ..<0x20: out += String(format: "\\u%04x", byte).utf8
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Converts to the `Any` tree Yams serialises, for `-o yaml`.
    public var anyValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return Int(i)
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(\.anyValue)
        case .object(let o): return o.mapValues(\.anyValue)
        }
    }
}

/// Reads manifests: multi-document YAML or JSON, `v1` `List`s, strict field checking,
/// defaulting and validation, the way the API server admits objects with `fieldValidation=Strict`.
public enum Manifest {
    /// Parses every document of `text`. Errors name the source, document and field.
    public static func decode(_ text: String, source: String) throws(ManifestError) -> [KubeObject] {
        let trees: [JSONValue]
        do {
            // Iterate the parser directly: `compose_all`'s sequence ends silently on a syntax error.
            let parser = try Parser(yaml: text)
            var nodes: [JSONValue] = []
            while let node = try parser.nextRoot() { nodes.append(JSONValue(yaml: node)) }
            trees = nodes
        } catch {
            throw ManifestError(source: source, message: "error converting YAML to JSON: \(yamlMessage(error, text: text))")
        }
        var objects: [KubeObject] = []
        for tree in trees {
            if case .null = tree { continue }
            for item in try expandLists(tree, source: source) {
                objects.append(try decodeObject(item, source: source))
            }
        }
        return objects
    }

    /// go-yaml's wording (`yaml: line N: problem`), which kubectl prefixes with
    /// `error converting YAML to JSON:`. go-yaml counts lines from 0 and adds 1 for scanner errors
    /// only, so a parser error names the line *before* the one Yams (1-based) reports.
    private static func yamlMessage(_ error: Error, text: String) -> String {
        guard let e = error as? YamlError else { return "yaml: " + String(describing: error) }
        func located(_ problem: String, _ line: Int) -> String {
            line > 0 ? "yaml: line \(line): \(problem)" : "yaml: \(problem)"
        }
        switch e {
        case .scanner(let context, let problem, let mark, _):
            return located(problem, mark.line > 1 ? mark.line : (context.map { $0.mark.line - 1 } ?? 0))
        case .parser(let context, let problem, let mark, _):
            return located(problem, mark.line > 1 ? mark.line - 1 : (context.map { $0.mark.line - 1 } ?? 0))
        case .composer(_, let problem, let mark, _):
            return located(problem, mark.line)
        case .reader(let problem, _, _, _):
            return "yaml: " + problem
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "yaml: unmarshal errors:\n" + duplicates.map {
                "  line \(duplicateLine(of: $0, in: text, after: context.mark.line)): key \(Validation.q($0)) already set in map"
            }.joined(separator: "\n")
        default:
            return "yaml: " + (String(describing: e).split(separator: "\n").first.map(String.init) ?? "")
        }
    }

    /// go-yaml names the line of the *second* occurrence of a duplicated key; Yams only gives the
    /// mapping's line, so look for the key's second appearance from there.
    static func duplicateLine(of key: String, in text: String, after line: Int) -> Int {
        var seen = 0
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where n + 1 >= line {
            var content = raw.drop(while: { $0 == " " })
            while content.hasPrefix("- ") { content = content.dropFirst(2).drop(while: { $0 == " " }) }
            if content.hasPrefix("\(key):") || content.hasPrefix("\"\(key)\":") || content.hasPrefix("'\(key)':") {
                seen += 1
                if seen == 2 { return n + 1 }
            }
        }
        return line
    }

    private static func expandLists(_ tree: JSONValue, source: String) throws(ManifestError) -> [JSONValue] {
        guard case .object(let o) = tree else {
            // kubectl first reads only apiVersion and kind, into an anonymous Go struct.
            throw ManifestError(source: source, message: "unable to decode \"\(source)\": json: cannot unmarshal \(tree.typeName) into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }")
        }
        if o["kind"]?.stringValue == "List" {
            guard case .array(let items)? = o["items"] else { return [] }
            return items
        }
        return [tree]
    }

    static let kinds: [String: [String]] = [
        "Pod": ["v1"], "ConfigMap": ["v1"], "Secret": ["v1"], "Service": ["v1"], "Namespace": ["v1"],
        "Job": ["batch/v1"], "CronJob": ["batch/v1"],
        "Deployment": ["apps/v1"], "ReplicaSet": ["apps/v1"],
    ]

    /// Decodes one object tree into its typed form, then defaults and validates it.
    public static func decodeObject(_ tree: JSONValue, source: String) throws(ManifestError) -> KubeObject {
        let apiVersion = tree["apiVersion"]?.stringValue
        let kind = tree["kind"]?.stringValue
        let name = tree["metadata"]?["name"]?.stringValue
        guard let kind, !kind.isEmpty else {
            throw ManifestError(source: source, message: "error validating data: kind not set")
        }
        guard let apiVersion, !apiVersion.isEmpty else {
            throw ManifestError(source: source, message: "error validating data: apiVersion not set")
        }
        // kubectl's `NoKindMatchError`, for an unknown kind and a known kind in an unknown version alike.
        guard let versions = kinds[kind], versions.contains(apiVersion) else {
            throw ManifestError(source: source, message: "resource mapping not found for name: \"\(name ?? "")\" namespace: \"\" from \"\(source)\": no matches for kind \"\(kind)\" in version \"\(apiVersion)\"\nensure CRDs are installed first")
        }
        var object: KubeObject
        do {
            switch kind {
            case "Pod": object = .pod(try strict(Pod.self, tree))
            case "Job": object = .job(try strict(Job.self, tree))
            case "CronJob": object = .cronJob(try strict(CronJob.self, tree))
            case "Deployment": object = .deployment(try strict(Deployment.self, tree))
            case "ReplicaSet": object = .replicaSet(try strict(ReplicaSet.self, tree))
            case "ConfigMap": object = .configMap(try strict(ConfigMap.self, tree))
            case "Secret": object = .secret(try strict(Secret.self, tree))
            case "Service": object = .service(try strict(Service.self, tree))
            default: object = .namespace(try strict(Namespace.self, tree))
            }
        } catch let errors as FieldErrors {
            throw ManifestError(source: source, kind: kind, name: name, errors: errors.errors)
        } catch {
            throw ManifestError(source: source, kind: kind, name: name, message: String(describing: error))
        }
        let decodeErrors = Validation.decodeErrors(object)
        if !decodeErrors.isEmpty {
            throw ManifestError(source: source, kind: kind, name: name, errors: decodeErrors)
        }
        Defaults.apply(&object)
        let errors = Validation.validate(object)
        if !errors.isEmpty {
            throw ManifestError(source: source, kind: kind, name: name, errors: errors)
        }
        return object
    }

    struct FieldErrors: Error { var errors: [FieldError] }

    /// Decodes `T`, then reports every key of the input that `T` does not know, as the API
    /// server's strict decoder does. Unknown keys are found by re-encoding the typed value and
    /// comparing key sets, so the list of known fields lives in the types alone.
    static func strict<T: Codable>(_ type: T.Type, _ tree: JSONValue) throws -> T {
        let value: T
        do {
            value = try tree.decode(T.self)
        } catch let error as DecodingError {
            let kind = String(describing: T.self)
            throw FieldErrors(errors: [unfitNumber(error, tree: tree, type: T.self, kind: kind) ?? typeError(error, tree: tree, kind: kind)])
        }
        let roundTrip = try JSONValue(encoding: value)
        var unknown: [FieldError] = []
        collectUnknown(input: tree, known: roundTrip, path: "", into: &unknown)
        if !unknown.isEmpty { throw FieldErrors(errors: unknown) }
        return value
    }

    private static func collectUnknown(input: JSONValue, known: JSONValue, path: String, into errors: inout [FieldError]) {
        switch (input, known) {
        case (.object(let i), .object(let k)):
            for key in i.keys.sorted() {
                let sub = path.isEmpty ? key : "\(path).\(key)"
                guard let kv = k[key] else {
                    if case .null = i[key]! { continue }
                    errors.append(FieldError(.unknownField, sub))
                    continue
                }
                collectUnknown(input: i[key]!, known: kv, path: sub, into: &errors)
            }
        case (.array(let i), .array(let k)) where i.count == k.count:
            for (n, (a, b)) in zip(i, k).enumerated() {
                collectUnknown(input: a, known: b, path: "\(path)[\(n)]", into: &errors)
            }
        default:
            break
        }
    }

    /// A number its field cannot hold (`1.5` for an int64, `99999999999` for an int32), which
    /// `JSONDecoder` reports without a path. Go names it: `json: cannot unmarshal number 1.5 into
    /// Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64`. Each number that
    /// would not fit an int32 is put back as a string and the tree decoded again: the decoder then
    /// stops at that number's field with the field's type, and the number is the culprit if it
    /// does not fit that type.
    private static func unfitNumber<T: Decodable>(_ error: DecodingError, tree: JSONValue, type: T.Type, kind: String) -> FieldError? {
        guard case .dataCorrupted(let ctx) = error, ctx.codingPath.isEmpty else { return nil }
        for (path, number) in tree.numberLeaves() where !fits(number, Int32.self) {
            guard case .typeMismatch(let fieldType, let probe)? = decodingError(tree.replacing(at: path, with: .string("")), T.self),
                  probe.codingPath.map({ $0.intValue.map(JSONValue.PathComponent.index) ?? .key($0.stringValue) }) == path,
                  !fits(number, fieldType) else { continue }
            let literal: String
            switch number {
            case .int(let i): literal = String(i)
            case .double(let d): literal = String(d)
            default: continue
            }
            return typeError(.typeMismatch(fieldType, probe), tree: tree, kind: kind, found: "number " + literal)
        }
        return nil
    }

    private static func decodingError<T: Decodable>(_ tree: JSONValue, _ type: T.Type) -> DecodingError? {
        do { _ = try tree.decode(T.self) } catch let e as DecodingError { return e } catch {}
        return nil
    }

    /// Whether `number` is a whole number within the range of the integer `type` (any number fits
    /// a field that is not an integer).
    private static func fits(_ number: JSONValue, _ type: Any.Type) -> Bool {
        let range: ClosedRange<Double>
        switch type {
        case is Int32.Type: range = Double(Int32.min)...Double(Int32.max)
        case is Int64.Type, is Int.Type: range = -9_223_372_036_854_775_808.0...9_223_372_036_854_775_807.0
        default: return true
        }
        switch number {
        case .int(let i): return range.contains(Double(i))
        case .double(let d): return d == d.rounded() && range.contains(d)
        default: return true
        }
    }

    /// Turns a Swift decoding error into the API server's message: Go's
    /// `json: cannot unmarshal <json type> into Go struct field <Struct>.<field.path> of type <go type>`,
    /// where `<Struct>` is the innermost Go struct and the path has no list indices. A missing
    /// required key becomes a `Required value` field error, as validation would report it.
    private static func typeError(_ error: DecodingError, tree: JSONValue, kind: String, found literal: String? = nil) -> FieldError {
        func path(_ codingPath: [CodingKey]) -> String {
            var s = ""
            for key in codingPath {
                if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return s
        }
        func found(_ codingPath: [CodingKey]) -> String {
            if let literal { return literal }
            var node: JSONValue? = tree
            for key in codingPath {
                if let i = key.intValue, case .array(let a)? = node { node = i < a.count ? a[i] : nil } else { node = node?[key.stringValue] }
            }
            return node?.typeName ?? "value"
        }
        /// The Go struct holding the failing field and the Go type of that field.
        func goContext(_ codingPath: [CodingKey], swiftType: Any.Type) -> (structName: String, fieldPath: String, type: String) {
            let keys = codingPath.filter { $0.intValue == nil }.map(\.stringValue)
            var current = kind
            var fieldType: String? = nil
            for (n, key) in keys.enumerated() {
                let child = goStructFields[current]?[key]
                if n == keys.count - 1 {
                    fieldType = child
                } else if let child {
                    current = child
                }
            }
            let endsInIndex = codingPath.last?.intValue != nil
            let expected = String(describing: swiftType)
            var type = goType(swiftType)
            if let fieldType {
                if endsInIndex || !expected.hasPrefix("Array") { type = "v1." + fieldType } else { type = "[]v1." + fieldType }
            }
            return (current, keys.joined(separator: "."), type)
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            let (structName, field, goType) = goContext(ctx.codingPath, swiftType: type)
            return FieldError(.typeMismatch, path(ctx.codingPath),
                              "json: cannot unmarshal \(found(ctx.codingPath)) into Go struct field \(structName).\(field) of type \(goType)")
        case .valueNotFound(let type, let ctx):
            let (structName, field, goType) = goContext(ctx.codingPath, swiftType: type)
            return FieldError(.typeMismatch, path(ctx.codingPath),
                              "json: cannot unmarshal null into Go struct field \(structName).\(field) of type \(goType)")
        case .keyNotFound(let key, let ctx):
            // Go decodes a missing field as its zero value and validation then names what is
            // really missing inside it; say the same thing here.
            let p = path(ctx.codingPath + [key])
            if p == "metadata" { return FieldError(.required, "metadata.name", "name or generateName is required") }
            if p.hasSuffix("spec") && (kind == "Pod" && p == "spec" || p.hasSuffix("template.spec")) {
                return FieldError(.required, p + ".containers")
            }
            return FieldError(.required, p)
        case .dataCorrupted(let ctx):
            let (structName, field, _) = goContext(ctx.codingPath, swiftType: Any.self)
            return FieldError(.typeMismatch, path(ctx.codingPath),
                              "json: cannot unmarshal \(found(ctx.codingPath)) into Go struct field \(structName).\(field): \(ctx.debugDescription)")
        @unknown default:
            return FieldError(.typeMismatch, "", String(describing: error))
        }
    }

    /// Go struct names of the fields that hold structs, by containing struct, so a type error can
    /// name the innermost struct as `encoding/json` does (`ContainerPort.spec.containers.ports.containerPort`).
    static let goStructFields: [String: [String: String]] = {
        let meta = ["metadata": "ObjectMeta"]
        var t: [String: [String: String]] = [
            "Pod": meta.merging(["spec": "PodSpec", "status": "PodStatus"]) { a, _ in a },
            "Job": meta.merging(["spec": "JobSpec", "status": "JobStatus"]) { a, _ in a },
            "CronJob": meta.merging(["spec": "CronJobSpec"]) { a, _ in a },
            "Deployment": meta.merging(["spec": "DeploymentSpec", "status": "DeploymentStatus"]) { a, _ in a },
            "ReplicaSet": meta.merging(["spec": "ReplicaSetSpec", "status": "ReplicaSetStatus"]) { a, _ in a },
            "Service": meta.merging(["spec": "ServiceSpec"]) { a, _ in a },
            "ConfigMap": meta, "Secret": meta, "Namespace": meta,
            "ObjectMeta": ["ownerReferences": "OwnerReference"],
            "JobSpec": ["template": "PodTemplateSpec", "selector": "LabelSelector"],
            "CronJobSpec": ["jobTemplate": "JobTemplateSpec"],
            "JobTemplateSpec": ["metadata": "ObjectMeta", "spec": "JobSpec"],
            "DeploymentSpec": ["template": "PodTemplateSpec", "selector": "LabelSelector", "strategy": "DeploymentStrategy"],
            "DeploymentStrategy": ["rollingUpdate": "RollingUpdateDeployment"],
            "ReplicaSetSpec": ["template": "PodTemplateSpec", "selector": "LabelSelector"],
            "LabelSelector": ["matchExpressions": "LabelSelectorRequirement"],
            "PodTemplateSpec": ["metadata": "ObjectMeta", "spec": "PodSpec"],
            "PodSpec": ["containers": "Container", "initContainers": "Container", "volumes": "Volume",
                        "readinessGates": "PodReadinessGate", "resources": "ResourceRequirements", "securityContext": "PodSecurityContext"],
            "Container": ["ports": "ContainerPort", "env": "EnvVar", "envFrom": "EnvFromSource", "resources": "ResourceRequirements",
                          "volumeMounts": "VolumeMount", "livenessProbe": "Probe", "readinessProbe": "Probe", "startupProbe": "Probe",
                          "lifecycle": "Lifecycle", "securityContext": "SecurityContext"],
            "SecurityContext": ["capabilities": "Capabilities"],
            "EnvVar": ["valueFrom": "EnvVarSource"],
            "EnvVarSource": ["fieldRef": "ObjectFieldSelector", "resourceFieldRef": "ResourceFieldSelector",
                             "configMapKeyRef": "ConfigMapKeySelector", "secretKeyRef": "SecretKeySelector"],
            "EnvFromSource": ["configMapRef": "ConfigMapEnvSource", "secretRef": "SecretEnvSource"],
            "Probe": ["exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction", "grpc": "GRPCAction"],
            "HTTPGetAction": ["httpHeaders": "HTTPHeader"],
            "Lifecycle": ["postStart": "LifecycleHandler", "preStop": "LifecycleHandler"],
            "LifecycleHandler": ["exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction", "sleep": "SleepAction"],
            "Volume": ["emptyDir": "EmptyDirVolumeSource", "hostPath": "HostPathVolumeSource", "configMap": "ConfigMapVolumeSource",
                       "secret": "SecretVolumeSource", "downwardAPI": "DownwardAPIVolumeSource", "projected": "ProjectedVolumeSource"],
            "ConfigMapVolumeSource": ["items": "KeyToPath"],
            "SecretVolumeSource": ["items": "KeyToPath"],
            "DownwardAPIVolumeSource": ["items": "DownwardAPIVolumeFile"],
            "DownwardAPIVolumeFile": ["fieldRef": "ObjectFieldSelector", "resourceFieldRef": "ResourceFieldSelector"],
            "ProjectedVolumeSource": ["sources": "VolumeProjection"],
            "ServiceSpec": ["ports": "ServicePort"],
        ]
        t["Pod"]?["spec"] = "PodSpec"
        return t
    }()

    private static func goType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Int32.Type: return "int32"
        case is Int64.Type, is Int.Type: return "int64"
        case is Bool.Type: return "bool"
        case is Double.Type: return "float64"
        case is [String].Type: return "[]string"
        case is [String: String].Type: return "map[string]string"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Dictionary") { return "map[string]string" }
            if name.hasPrefix("Array") { return "[]string" }
            return "object"
        }
    }
}

extension JSONValue {
    static let yaml11Bool: [String: Bool] = [
        "y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
        "n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
    ]

    /// `0644` (a leading zero, octal digits) as YAML 1.1 reads it.
    static func yaml11Octal(_ s: String) -> Int64? {
        var digits = Substring(s)
        var sign: Int64 = 1
        if digits.first == "-" || digits.first == "+" {
            if digits.first == "-" { sign = -1 }
            digits = digits.dropFirst()
        }
        guard digits.count > 1, digits.first == "0", digits.dropFirst().allSatisfy({ ("0"..."7").contains($0) }) else { return nil }
        return Int64(digits.dropFirst(), radix: 8).map { $0 * sign }
    }

    /// Converts a composed YAML node with its resolved tags: a quoted `"80"` stays a string,
    /// a plain `80` is a number, as the API server's YAML-to-JSON conversion does.
    init(yaml node: Node) {
        switch node {
        case .scalar(let scalar):
            let s = scalar.string
            // Kubernetes reads YAML with go-yaml v2, i.e. YAML 1.1: `0644` is octal and a plain
            // `yes`/`off` is a boolean. Yams resolves YAML 1.2, so the 1.1 forms are decided here.
            if scalar.style == .plain {
                if let b = Self.yaml11Bool[s] { self = .bool(b); return }
                if let octal = Self.yaml11Octal(s) { self = .int(octal); return }
            }
            switch node.tag.description {
            case Tag.Name.null.rawValue: self = .null
            case Tag.Name.bool.rawValue: self = .bool(Bool.construct(from: scalar) ?? false)
            case Tag.Name.int.rawValue:
                if let i = Int64(s) { self = .int(i) } else if let i = Int.construct(from: scalar) { self = .int(Int64(i)) } else { self = .string(s) }
            case Tag.Name.float.rawValue: self = Double.construct(from: scalar).map { .double($0) } ?? .string(s)
            default: self = .string(s)
            }
        case .mapping(let mapping):
            var o: [String: JSONValue] = [:]
            for (k, v) in mapping { o[k.string ?? String(describing: k)] = JSONValue(yaml: v) }
            self = .object(o)
        case .sequence(let seq):
            self = .array(seq.map(JSONValue.init(yaml:)))
        case .alias:
            self = .null
        }
    }
}
