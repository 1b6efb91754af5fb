/// One kind the API server serves: where it lives in the URL space and how discovery,
/// OpenAPI and the store name it. The table below is the single list every other part reads.
public struct APIResource: Sendable, Hashable {
    public var group: String
    public var version: String
    /// The plural, lower-case name in URLs (`pods`).
    public var resource: String
    public var singular: String
    public var kind: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var categories: [String]
    public var subresources: [String]
    /// Whether `metadata.generation` is kept (controllers report `observedGeneration` against it).
    public var tracksGeneration: Bool
    /// What a CustomResourceDefinition says of this version; nil for the built-in kinds.
    public var custom: CustomResourceVersion?
    /// What discovery says can be done with it: every verb for stored kinds, `create` alone for
    /// the reviews, which are answered and never stored.
    public var verbs: [String]

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The resource with its group, as errors and the store name it (`deployments.apps`).
    public var qualifiedName: String { group.isEmpty ? resource : "\(resource).\(group)" }

    init(_ group: String, _ version: String, _ resource: String, _ kind: String, namespaced: Bool = true,
         short: [String] = [], all: Bool = false, sub: [String] = [], generation: Bool = false, verbs: [String] = standardVerbs) {
        self.group = group
        self.version = version
        self.resource = resource
        self.singular = kind.lowercased()
        self.kind = kind
        self.namespaced = namespaced
        self.shortNames = short
        self.categories = all ? ["all"] : []
        self.subresources = sub
        self.tracksGeneration = generation
        self.verbs = verbs
    }

    public static let standardVerbs = ["create", "delete", "get", "list", "patch", "update", "watch"]

    /// A kind that is only ever created, and answered rather than stored (a review).
    public var isReview: Bool { verbs == ["create"] }

    /// What Tandem serves. `all` is set only on kinds that answer lists (`kubectl get all`).
    public static let served: [APIResource] = [
        APIResource("", "v1", "pods", "Pod", short: ["po"], all: true, sub: ["status", "log", "eviction", "ephemeralcontainers"]),
        APIResource("", "v1", "namespaces", "Namespace", namespaced: false, short: ["ns"], sub: ["status"]),
        APIResource("", "v1", "configmaps", "ConfigMap", short: ["cm"]),
        APIResource("", "v1", "secrets", "Secret"),
        APIResource("", "v1", "services", "Service", short: ["svc"], all: true, sub: ["status"]),
        APIResource("", "v1", "endpoints", "Endpoints", short: ["ep"]),
        APIResource("", "v1", "events", "Event", short: ["ev"]),
        APIResource("", "v1", "nodes", "Node", namespaced: false, short: ["no"], sub: ["status"]),
        APIResource("", "v1", "serviceaccounts", "ServiceAccount", short: ["sa"], sub: ["token"]),
        APIResource("coordination.k8s.io", "v1", "leases", "Lease"),
        APIResource("apps", "v1", "deployments", "Deployment", short: ["deploy"], all: true, sub: ["status", "scale"], generation: true),
        APIResource("apps", "v1", "replicasets", "ReplicaSet", short: ["rs"], all: true, sub: ["status", "scale"], generation: true),
        APIResource("batch", "v1", "jobs", "Job", all: true, sub: ["status"], generation: true),
        APIResource("batch", "v1", "cronjobs", "CronJob", short: ["cj"], all: true, sub: ["status"], generation: true),
        APIResource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
        APIResource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short: ["pdb"], sub: ["status"], generation: true),
        APIResource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced: false,
                    short: ["crd", "crds"], sub: ["status"], generation: true),
        APIResource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced: false, verbs: ["create"]),
        APIResource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced: false, verbs: ["create"]),
    ]

    /// The group-versions of `resources`, in their order (the core one first): discovery and
    /// OpenAPI list them in this order.
    public static func groupVersions(_ resources: [APIResource]) -> [(group: String, version: String)] {
        var seen: [String] = []
        var out: [(String, String)] = []
        for r in resources where !seen.contains(r.apiVersion) {
            seen.append(r.apiVersion)
            out.append((r.group, r.version))
        }
        return out
    }

    public static func find(group: String, version: String, resource: String) -> APIResource? {
        served.first { $0.group == group && $0.version == version && $0.resource == resource }
    }

    public static func find(kind: String) -> APIResource? { served.first { $0.kind == kind } }

    public static let pods = find(kind: "Pod")!
    public static let namespaces = find(kind: "Namespace")!
    public static let configMaps = find(kind: "ConfigMap")!
    public static let secrets = find(kind: "Secret")!
    public static let jobs = find(kind: "Job")!
    public static let cronJobs = find(kind: "CronJob")!
    public static let deployments = find(kind: "Deployment")!
    public static let replicaSets = find(kind: "ReplicaSet")!
    public static let customResourceDefinitions = find(kind: "CustomResourceDefinition")!
}
