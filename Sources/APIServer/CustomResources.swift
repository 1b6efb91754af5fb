import APIStore
import Foundation
import KubeAPI
import PodLifecycle
import Synchronization

/// What a CustomResourceDefinition says of one of its served versions beyond the names: the
/// `additionalPrinterColumns` the server prints a Table with, and the schema its objects are
/// pruned, defaulted and validated with.
public struct CustomResourceVersion: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: String
        public var format: String
        public var description: String
        public var priority: Int
        public var jsonPath: String
    }

    /// Never empty: a version without columns gets `Age` (the API server's
    /// `serveDefaultColumnsIfEmpty`), so `kubectl get` prints `NAME AGE`.
    public var columns: [Column]
    /// `schema.openAPIV3Schema` (required in apiextensions.k8s.io/v1).
    var schema: CustomResourceSchema?
}

/// The apiextensions-apiserver's part: the stored CustomResourceDefinitions turned into served
/// resources. Every served version of every CRD is an `APIResource` beside the built-in ones,
/// so discovery, OpenAPI, the handlers, watch and the store treat a Tenant as they treat a Pod.
/// The set is rebuilt from the store after every CRD write (the CRD handler's informer), so a
/// kind is served as soon as `kubectl apply -f crd.yaml` returns.
public final class CustomResources: Sendable {
    private let resources = Mutex<[APIResource]>([])

    public init() {}

    public var all: [APIResource] { resources.withLock { $0 } }

    public func find(group: String, version: String, resource: String) -> APIResource? {
        resources.withLock { rs in rs.first { $0.group == group && $0.version == version && $0.resource == resource } }
    }

    /// Replaces the served set with what `definitions` (read under the lock, so two CRD writes
    /// cannot install their views out of order) define; returns the qualified names
    /// (`tenants.minio.min.io`) no longer defined, whose objects must go.
    func reload(_ definitions: () -> [JSONValue]) -> Set<String> {
        resources.withLock { rs in
            let before = Set(rs.map(\.qualifiedName))
            rs = definitions().flatMap(Self.resources(of:))
            return before.subtracting(rs.map(\.qualifiedName))
        }
    }

    /// One `APIResource` per served version of a CRD that is established (it passed
    /// validation when stored, so its names are all there), the preferred version first.
    static func resources(of crd: JSONValue) -> [APIResource] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue, let names = spec["names"],
              let plural = names["plural"]?.stringValue, let kind = names["kind"]?.stringValue else { return [] }
        let versions = (spec["versions"]?.arrayValue ?? []).sorted {
            kubeAwareOrder($0["name"]?.stringValue ?? "", $1["name"]?.stringValue ?? "")
        }
        return versions.compactMap { v -> APIResource? in
            guard v["served"] == .bool(true), let version = v["name"]?.stringValue else { return nil }
            let hasStatus = v["subresources"]?["status"] != nil
            var r = APIResource(group, version, plural, kind, namespaced: spec["scope"]?.stringValue != "Cluster",
                                short: strings(names["shortNames"]), sub: hasStatus ? ["status"] : [], generation: true)
            r.singular = names["singular"]?.stringValue ?? kind.lowercased()
            r.categories = strings(names["categories"])
            var columns = (v["additionalPrinterColumns"]?.arrayValue ?? []).map { c in
                CustomResourceVersion.Column(name: c["name"]?.stringValue ?? "", type: c["type"]?.stringValue ?? "string",
                                             format: c["format"]?.stringValue ?? "", description: c["description"]?.stringValue ?? "",
                                             priority: { if case .int(let p)? = c["priority"] { Int(p) } else { 0 } }(), jsonPath: c["jsonPath"]?.stringValue ?? "")
            }
            if columns.isEmpty {
                columns = [.init(name: "Age", type: "date", format: "", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", priority: 0,
                                 jsonPath: ".metadata.creationTimestamp")]
            }
            r.custom = CustomResourceVersion(columns: columns, schema: v["schema"]?["openAPIV3Schema"].map(CustomResourceSchema.init(root:)))
            return r
        }
    }

    /// apimachinery's `CompareKubeAwareVersionStrings`, which orders a CRD's versions in
    /// discovery (the first is the preferred one kubectl uses): GA before beta before alpha, a
    /// higher major then a higher minor first (`v2`, `v1`, `v1beta2`, `v1beta1`, `v1alpha1`),
    /// and names of another shape last, alphabetically.
    static func kubeAwareOrder(_ a: String, _ b: String) -> Bool {
        func parse(_ v: String) -> (stability: Int, major: Int, minor: Int)? {
            guard v.hasPrefix("v") else { return nil }
            let rest = v.dropFirst()
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard let major = Int(digits), !digits.hasPrefix("0") else { return nil }
            let tail = rest.dropFirst(digits.count)
            if tail.isEmpty { return (3, major, 0) }
            for (word, stability) in [("beta", 2), ("alpha", 1)] where tail.hasPrefix(word) {
                let n = tail.dropFirst(word.count)
                guard let minor = Int(n), !n.hasPrefix("0") else { return nil }
                return (stability, major, minor)
            }
            return nil
        }
        switch (parse(a), parse(b)) {
        case let (x?, y?): return (x.stability, x.major, x.minor) > (y.stability, y.major, y.minor)
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a < b
        }
    }

    static func strings(_ v: JSONValue?) -> [String] { (v?.arrayValue ?? []).compactMap(\.stringValue) }

    // MARK: CustomResourceDefinition admission

    /// The defaults the API server's `SetDefaults_CustomResourceDefinition*` sets:
    /// `names.singular` (the kind in lower case), `names.listKind` (kind + `List`) and
    /// `conversion.strategy: None`.
    static func defaulted(_ crd: JSONValue) -> JSONValue {
        var spec = crd["spec"] ?? .object([:])
        var names = spec["names"] ?? .object([:])
        if let kind = names["kind"]?.stringValue, !kind.isEmpty {
            if (names["singular"]?.stringValue ?? "").isEmpty { names = names.setting("singular", .string(kind.lowercased())) }
            if (names["listKind"]?.stringValue ?? "").isEmpty { names = names.setting("listKind", .string(kind + "List")) }
        }
        spec = spec.setting("names", names)
        if spec["conversion"] == nil { spec = spec.setting("conversion", .object(["strategy": .string("None")])) }
        return crd.setting("spec", spec)
    }

    /// apiextensions' `ValidateCustomResourceDefinition`, its essentials: the name is
    /// `<plural>.<group>`, the group a domain, the names DNS-1035 labels, the scope one of two,
    /// the versions unique with exactly one storage version and (in v1) a schema each.
    static func validate(_ crd: JSONValue) -> [FieldError] {
        var errs: [FieldError] = []
        let meta = (try? (crd["metadata"] ?? .object([:])).decode(ObjectMeta.self)) ?? ObjectMeta()
        errs += Validation.validateObjectMeta(meta, namespaced: false, name: Validation.isDNS1123Subdomain, path: "metadata")
        let spec = crd["spec"] ?? .object([:])
        let group = spec["group"]?.stringValue ?? ""
        let names = spec["names"] ?? .object([:])
        let plural = names["plural"]?.stringValue ?? ""
        if let name = meta.name, !name.isEmpty, name != "\(plural).\(group)" {
            errs.append(.invalid("metadata.name", GoSyntax.quote(name), "must be spec.names.plural+\".\"+spec.group"))
        }
        if group.isEmpty {
            errs.append(.required("spec.group"))
        } else if case let e = Validation.isDNS1123Subdomain(group), !e.isEmpty {
            errs.append(.invalid("spec.group", GoSyntax.quote(group), e.joined(separator: ",")))
        } else if !group.contains(".") {
            errs.append(.invalid("spec.group", GoSyntax.quote(group), "should be a domain with at least one dot"))
        }
        let scope = spec["scope"]?.stringValue ?? ""
        if scope.isEmpty {
            errs.append(.required("spec.scope"))
        } else if !["Cluster", "Namespaced"].contains(scope) {
            errs.append(.notSupported("spec.scope", scope, ["Cluster", "Namespaced"]))
        }
        for field in ["plural", "singular", "kind", "listKind"] {
            let value = names[field]?.stringValue ?? ""
            if value.isEmpty { errs.append(.required("spec.names.\(field)")); continue }
            let label = field == "kind" || field == "listKind" ? value.lowercased() : value
            let e = Validation.isDNS1035Label(label)
            if !e.isEmpty {
                let prefix = label == value ? "" : "may have mixed case, but should otherwise match: "
                errs.append(.invalid("spec.names.\(field)", GoSyntax.quote(value), prefix + e.joined(separator: ",")))
            }
        }
        for (i, short) in strings(names["shortNames"]).enumerated() {
            let e = Validation.isDNS1035Label(short)
            if !e.isEmpty { errs.append(.invalid("spec.names.shortNames[\(i)]", GoSyntax.quote(short), e.joined(separator: ","))) }
        }
        if let kind = names["kind"]?.stringValue, !kind.isEmpty, kind == names["listKind"]?.stringValue {
            errs.append(.invalid("spec.names.listKind", GoSyntax.quote(kind), "kind and listKind may not be the same"))
        }
        let versions = spec["versions"]?.arrayValue ?? []
        // The API server prints the whole versions slice as a Go value here; its names stand for it.
        let shown = "[" + versions.map { GoSyntax.quote($0["name"]?.stringValue ?? "") }.joined(separator: " ") + "]"
        var seen: Set<String> = []
        var storage = 0
        for (i, v) in versions.enumerated() {
            let name = v["name"]?.stringValue ?? ""
            let e = Validation.isDNS1035Label(name)
            if !e.isEmpty { errs.append(.invalid("spec.versions[\(i)].name", GoSyntax.quote(name), e.joined(separator: ","))) }
            if !seen.insert(name).inserted { errs.append(.invalid("spec.versions", shown, "must contain unique version names")) }
            if v["storage"] == .bool(true) { storage += 1 }
            if v["schema"]?["openAPIV3Schema"] == nil {
                errs.append(.required("spec.versions[\(i)].schema.openAPIV3Schema", "schemas are required"))
            }
        }
        if versions.isEmpty {
            errs.append(.invalid("spec.versions", shown, "must have exactly one version"))
        } else if storage != 1 {
            errs.append(.invalid("spec.versions", shown, "must have exactly one version marked as storage version"))
        }
        if !versions.isEmpty, !versions.contains(where: { $0["served"] == .bool(true) }) {
            errs.append(.invalid("spec.versions", shown, "must have at least one version marked as served"))
        }
        return errs
    }

    /// The status the CRD controllers (`NamingConditionController`, `EstablishingController`)
    /// write: the names accepted, `NamesAccepted` and `Established` true, the storage version
    /// among `storedVersions`. A condition already true keeps its transition time.
    static func status(of crd: JSONValue, now: Date = Date()) -> JSONValue {
        let current = crd["status"] ?? .object([:])
        let names = crd["spec"]?["names"] ?? .object([:])
        func condition(_ type: String, _ reason: String, _ message: String) -> JSONValue {
            let old = (current["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" }
            return .object(["type": .string(type), "status": .string("True"), "reason": .string(reason), "message": .string(message),
                            "lastTransitionTime": old?["lastTransitionTime"] ?? .string(Timestamp.string(now))])
        }
        var stored = strings(current["storedVersions"])
        for v in crd["spec"]?["versions"]?.arrayValue ?? [] where v["storage"] == .bool(true) {
            if let name = v["name"]?.stringValue, !stored.contains(name) { stored.append(name) }
        }
        return .object([
            "acceptedNames": names,
            "conditions": .array([condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                                  condition("Established", "InitialNamesAccepted", "the initial names have been accepted")]),
            "storedVersions": .array(stored.map { .string($0) }),
        ])
    }

    // MARK: custom resource admission

    /// A custom object's admission: fields its version's schema does not declare pruned (under
    /// `fieldValidation=Strict` refused with the strict decoder's message, under `Warn` each
    /// warned of), defaults filled in, then its metadata validated as the CR strategy's
    /// `ValidateObjectMetaAccessor` with `NameIsDNSSubdomain` does and the rest against the schema.
    static func admit(_ r: APIResource, _ tree: JSONValue, name: String) throws(APIError) -> JSONValue {
        let cannot = "\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind)"
        let meta: ObjectMeta
        do {
            meta = try (tree["metadata"] ?? .object([:])).decode(ObjectMeta.self)
        } catch {
            throw .badRequest("\(cannot): \(error)")
        }
        var object = tree
        if let schema = r.custom?.schema {
            var unknown: [String] = []
            object = schema.pruned(tree, unknown: &unknown)
            if !unknown.isEmpty {
                switch FieldValidation.current {
                case .strict:
                    let list = unknown.sorted().map { "unknown field \(GoSyntax.quote($0))" }
                    throw .badRequest("\(cannot): strict decoding error: " + list.joined(separator: ", "))
                case .warn: FieldValidation.warnings?.add(unknown.sorted().map { "unknown field \(GoSyntax.quote($0))" })
                case .ignore: break
                }
            }
        }
        var errs = Validation.validateObjectMeta(meta, namespaced: r.namespaced, name: Validation.isDNS1123Subdomain, path: "metadata")
        errs += r.custom?.schema?.validate(object) ?? []
        if !errs.isEmpty { throw .invalid(r, name, errs) }
        return object
    }

    // MARK: tables

    /// The CRD table convertor's cells: the name, then each column's first JSONPath result —
    /// `date` as an age, `integer`/`number`/`boolean` as JSON values, anything else as text;
    /// nothing found is a null cell (kubectl prints `<none>`).
    static func cells(_ version: CustomResourceVersion, _ o: JSONValue, now: Date) -> [JSONValue] {
        [.string(o["metadata"]?["name"]?.stringValue ?? "")] + version.columns.map { c in
            guard let value = JSONPathQuery(c.jsonPath)?.first(in: o), value != .null else { return .null }
            switch (c.type, value) {
            case ("date", .string(let s)):
                return Timestamp.date(s).map { .string(PodPrinter.humanDuration(now.timeIntervalSince($0))) } ?? .null
            case ("integer", .int), ("integer", .double), ("number", .int), ("number", .double), ("boolean", .bool): return value
            case (_, .string): return value
            case (_, .int(let i)): return .string(String(i))
            case (_, .bool(let b)): return .string(b ? "true" : "false")
            default: return .string(Handler.encode(value))
            }
        }
    }
}

/// The simple JSONPath subset `additionalPrinterColumns` allows (`.status.replicas`,
/// `.spec.pools[0].servers`, `.spec.pools[*].name`, `.metadata.labels['app']`).
struct JSONPathQuery {
    enum Step: Equatable { case field(String), index(Int), all }
    var steps: [Step] = []

    init?(_ text: String) {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("{"), s.hasSuffix("}") { s = s.dropFirst().dropLast() }
        while !s.isEmpty {
            if s.hasPrefix(".") {
                s = s.dropFirst()
                let name = s.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { return nil }
                steps.append(.field(String(name)))
                s = s.dropFirst(name.count)
            } else if s.hasPrefix("[") {
                guard let close = s.firstIndex(of: "]") else { return nil }
                let inner = s[s.index(after: s.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if inner == "*" {
                    steps.append(.all)
                } else if let i = Int(inner) {
                    steps.append(.index(i))
                } else if inner.count >= 2, let q = inner.first, q == "'" || q == "\"", inner.last == q {
                    steps.append(.field(String(inner.dropFirst().dropLast())))
                } else {
                    return nil
                }
                s = s[s.index(after: close)...]
            } else {
                return nil
            }
        }
    }

    /// Every value the path reaches, in order.
    func results(in root: JSONValue) -> [JSONValue] {
        var current = [root]
        for step in steps {
            current = current.flatMap { v -> [JSONValue] in
                switch step {
                case .field(let name): return v[name].map { [$0] } ?? []
                case .index(let i):
                    guard let a = v.arrayValue else { return [] }
                    let at = i < 0 ? a.count + i : i
                    return a.indices.contains(at) ? [a[at]] : []
                case .all: return v.arrayValue ?? v.objectValue.map { Array($0.values) } ?? []
                }
            }
        }
        return current
    }

    func first(in root: JSONValue) -> JSONValue? { results(in: root).first }
}

extension Registry {
    /// Every served resource: the built-in kinds, then those the stored CRDs define.
    public var servedResources: [APIResource] { APIResource.served + customResources.all }

    public func resource(group: String, version: String, resource: String) -> APIResource? {
        APIResource.find(group: group, version: version, resource: resource)
            ?? customResources.find(group: group, version: version, resource: resource)
    }

    /// After a CRD was written or deleted: each CRD gets the status its controllers would write,
    /// the served set is rebuilt, and the objects of a resource no longer defined are deleted
    /// (the CRD finalizer's `customresourcecleanup`), each a DELETED event to its watchers.
    func definitionsChanged() {
        let crds = APIResource.customResourceDefinitions
        let removed = customResources.reload {
            let items = (try? store.list(resource: crds.qualifiedName, namespace: nil).items) ?? []
            return items.map { crd in
                let status = CustomResources.status(of: crd)
                guard crd["status"] != status, let name = crd["metadata"]?["name"]?.stringValue else { return crd }
                return (try? store.update(key(crds, "", name)) { $0.setting("status", CustomResources.status(of: $0)) }) ?? crd
            }
        }
        for qualified in removed {
            for item in (try? store.list(resource: qualified, namespace: nil).items) ?? [] {
                guard let name = item["metadata"]?["name"]?.stringValue else { continue }
                _ = try? store.delete(ObjectKey(resource: qualified, namespace: item["metadata"]?["namespace"]?.stringValue ?? "", name: name))
            }
        }
    }
}
