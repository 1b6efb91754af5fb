import KubeAPI

/// What kubectl asks before anything else: `/version` (the `/usr/bin/kubectl` dispatcher picks
/// its binary by `minor`), discovery (aggregated `APIGroupDiscoveryList` when asked for, legacy
/// lists otherwise) and OpenAPI v3 (one document per group-version whose PATCH operations
/// advertise `fieldValidation`, so `kubectl apply` validates on the server rather than
/// downloading schemas).
enum Discovery {
    static let gitVersion = "v1.32.5+tandem"

    static var version: JSONValue {
        .object(["major": .string("1"), "minor": .string("32"), "gitVersion": .string(gitVersion),
                 "gitCommit": .string("tandem"), "gitTreeState": .string("clean"), "buildDate": .string("2026-01-01T00:00:00Z"),
                 "goVersion": .string("go1.23.8"), "compiler": .string("gc"), "platform": .string("linux/amd64")])
    }

    static let aggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    /// Whether the Accept header asks for aggregated discovery (v2 or v2beta1).
    static func wantsAggregated(_ accept: String) -> Bool {
        accept.contains("as=APIGroupDiscoveryList")
    }

    static func verbs(_ r: APIResource) -> JSONValue { .array(r.verbs.map { .string($0) }) }

    /// `GET /api` or `GET /apis` (aggregated): the core group alone, or the named groups, each
    /// with its versions in the order served (a CRD's versions in its order).
    static func aggregated(core: Bool, resources: [APIResource]) -> JSONValue {
        var groups: [String: [APIResource]] = [:]
        var order: [String] = []
        for r in resources where r.group.isEmpty == core {
            if groups[r.group] == nil { order.append(r.group) }
            groups[r.group, default: []].append(r)
        }
        let items: [JSONValue] = order.map { g in
            let versions: [JSONValue] = APIResource.groupVersions(groups[g]!).map { gv in
                .object(["version": .string(gv.version), "freshness": .string("Current"),
                         "resources": .array(groups[g]!.filter { $0.version == gv.version }.map(aggregatedResource))])
            }
            return .object(["metadata": .object(["name": .string(g), "creationTimestamp": .null]), "versions": .array(versions)])
        }
        return .object(["kind": .string("APIGroupDiscoveryList"), "apiVersion": .string("apidiscovery.k8s.io/v2"),
                        "metadata": .object([:]), "items": .array(items)])
    }

    static func aggregatedResource(_ r: APIResource) -> JSONValue {
        var o: [String: JSONValue] = [
            "resource": .string(r.resource),
            "responseKind": .object(["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]),
            "scope": .string(r.namespaced ? "Namespaced" : "Cluster"), "singularResource": .string(r.singular),
            "verbs": verbs(r),
        ]
        if !r.shortNames.isEmpty { o["shortNames"] = .array(r.shortNames.map { .string($0) }) }
        if !r.categories.isEmpty { o["categories"] = .array(r.categories.map { .string($0) }) }
        if !r.subresources.isEmpty {
            o["subresources"] = .array(r.subresources.map { s in
                let (group, version, kind) = subresourceKind(r, s)
                return .object(["subresource": .string(s),
                                "responseKind": .object(["group": .string(group), "version": .string(version), "kind": .string(kind)]),
                                "verbs": .array(subresourceVerbs(s).map { .string($0) })])
            })
        }
        return .object(o)
    }

    /// The kind a subresource answers with, as the real server's discovery names it.
    static func subresourceKind(_ r: APIResource, _ s: String) -> (group: String, version: String, kind: String) {
        switch s {
        case "scale": ("autoscaling", "v1", "Scale")
        case "eviction": ("policy", "v1", "Eviction")
        case "token": ("authentication.k8s.io", "v1", "TokenRequest")
        case "log": ("", r.version, "")
        default: (r.group, r.version, r.kind)
        }
    }

    static func subresourceVerbs(_ s: String) -> [String] {
        switch s {
        case "log": ["get"]
        case "eviction", "token": ["create"]
        default: ["get", "patch", "update"]
        }
    }

    static func apiVersions(serverAddress: String) -> JSONValue {
        .object(["kind": .string("APIVersions"), "versions": .array([.string("v1")]),
                 "serverAddressByClientCIDRs": .array([.object(["clientCIDR": .string("0.0.0.0/0"), "serverAddress": .string(serverAddress)])])])
    }

    static func groupList(resources: [APIResource]) -> JSONValue {
        var order: [String] = []
        var versions: [String: [JSONValue]] = [:]
        for gv in APIResource.groupVersions(resources) where !gv.group.isEmpty {
            if versions[gv.group] == nil { order.append(gv.group) }
            versions[gv.group, default: []].append(.object(["groupVersion": .string("\(gv.group)/\(gv.version)"), "version": .string(gv.version)]))
        }
        let groups: [JSONValue] = order.map { g in
            .object(["name": .string(g), "versions": .array(versions[g]!), "preferredVersion": versions[g]![0]])
        }
        return .object(["kind": .string("APIGroupList"), "apiVersion": .string("v1"), "groups": .array(groups)])
    }

    /// `GET /api/v1` or `/apis/G/V`: the legacy `APIResourceList`.
    static func resourceList(group: String, version: String, resources: [APIResource]) -> JSONValue? {
        let rs = resources.filter { $0.group == group && $0.version == version }
        guard !rs.isEmpty else { return nil }
        var resources: [JSONValue] = []
        for r in rs {
            var o: [String: JSONValue] = ["name": .string(r.resource), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                                          "kind": .string(r.kind), "verbs": verbs(r)]
            if !r.shortNames.isEmpty { o["shortNames"] = .array(r.shortNames.map { .string($0) }) }
            if !r.categories.isEmpty { o["categories"] = .array(r.categories.map { .string($0) }) }
            resources.append(.object(o))
            for s in r.subresources {
                let (group, version, kind) = subresourceKind(r, s)
                var sub: [String: JSONValue] = ["name": .string("\(r.resource)/\(s)"), "singularName": .string(""), "namespaced": .bool(r.namespaced),
                                                "kind": .string(s == "log" ? "Pod" : kind), "verbs": .array(subresourceVerbs(s).map { .string($0) })]
                // A subresource of another group names it: `kubectl drain` finds the eviction's
                // group-version this way (`CheckEvictionSupport`).
                if group != r.group { (sub["group"], sub["version"]) = (.string(group), .string(version)) }
                resources.append(.object(sub))
            }
        }
        return .object(["kind": .string("APIResourceList"), "apiVersion": .string("v1"),
                        "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources)])
    }

    static func openAPIPath(group: String, version: String) -> String {
        group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
    }

    /// `GET /openapi/v3`: every served group-version (kubectl falls back to client-side
    /// validation, which needs OpenAPI v2, for one that is missing).
    static func openAPIRoot(resources: [APIResource]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for gv in APIResource.groupVersions(resources) {
            let p = openAPIPath(group: gv.group, version: gv.version)
            paths[p] = .object(["serverRelativeURL": .string("/openapi/v3/\(p)?hash=\(hashTag)")])
        }
        return .object(["paths": .object(paths)])
    }

    /// `GET /openapi/v2`: a Swagger 2.0 document with no definitions, in gnostic protobuf (the only
    /// form kubectl reads there). kubectl validates a `kind: List` on the client with this document
    /// whatever the v3 documents say, and fails on a 404; with no model for a kind it skips the
    /// client-side check, and each item still meets the server's `fieldValidation=Strict`. Patch
    /// computation likewise finds no model and uses the metadata compiled into kubectl.
    static let openAPIv2Protobuf: [UInt8] = {
        func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
            precondition(bytes.count < 128, "one-byte lengths only")
            return [number << 3 | 2, UInt8(bytes.count)] + bytes
        }
        let info = field(1, Array("Kubernetes".utf8)) + field(2, Array(gitVersion.utf8))
        // Document: swagger = 1, info = 2, paths = 8 (empty).
        return field(1, Array("2.0".utf8)) + field(2, info) + field(8, [])
    }()

    /// The same document as JSON, for a client that does not ask for protobuf.
    static let openAPIv2JSON = JSONValue.object([
        "swagger": .string("2.0"), "info": .object(["title": .string("Kubernetes"), "version": .string(gitVersion)]),
        "paths": .object([:]),
    ])

    /// Stable for a build, as the real server's content hash is.
    static let hashTag = "TANDEM0132"

    /// One group-version's document: a PATCH operation per kind with its GVK and the
    /// `fieldValidation` parameter — what kubectl's `QueryParamVerifierV3` looks for.
    static func openAPIDocument(path: String, resources: [APIResource]) -> JSONValue? {
        guard let gv = APIResource.groupVersions(resources).first(where: { openAPIPath(group: $0.group, version: $0.version) == path }) else { return nil }
        var paths: [String: JSONValue] = [:]
        for r in resources where r.group == gv.group && r.version == gv.version {
            let base = "/" + path + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.resource + "/{name}"
            let gvk = JSONValue.object(["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)])
            let params = JSONValue.array([.object(["name": .string("fieldValidation"), "in": .string("query"), "schema": .object(["type": .string("string")])])])
            let op = JSONValue.object(["x-kubernetes-group-version-kind": gvk, "parameters": params,
                                       "responses": .object(["200": .object(["description": .string("OK")])])])
            if !r.isReview { paths[base] = .object(["patch": op, "put": op]) }
            let collection = "/" + path + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.resource
            paths[collection] = .object(["post": op])
        }
        return .object(["openapi": .string("3.0.0"), "info": .object(["title": .string("Kubernetes"), "version": .string(gitVersion)]),
                        "paths": .object(paths), "components": .object(["schemas": .object([:])])])
    }
}
