/// apps/v1 and batch/v1 workload objects, plus the core/v1 objects a manifest may carry
/// beside its Pods (ConfigMap, Secret, Service, Namespace).

public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec
}

// MARK: batch/v1 Job

public struct Job: Codable, Sendable, Hashable {
    public var apiVersion: String? = "batch/v1"
    public var kind: String? = "Job"
    public var metadata: ObjectMeta
    public var spec: JobSpec
    public var status: JobStatus?
}

public struct JobSpec: Codable, Sendable, Hashable {
    public var parallelism: Int32?
    public var completions: Int32?
    public var completionMode: String?
    public var backoffLimit: Int32?
    public var backoffLimitPerIndex: Int32?
    public var maxFailedIndexes: Int32?
    public var activeDeadlineSeconds: Int64?
    public var ttlSecondsAfterFinished: Int32?
    public var suspend: Bool?
    public var manualSelector: Bool?
    public var selector: LabelSelector?
    public var podFailurePolicy: JSONValue?
    public var successPolicy: JSONValue?
    public var podReplacementPolicy: String?
    public var managedBy: String?
    public var template: PodTemplateSpec
}

public struct JobStatus: Codable, Sendable, Hashable {
    public var conditions: [Condition]?
    public var startTime: String?
    public var completionTime: String?
    public var active: Int32?
    public var succeeded: Int32?
    public var failed: Int32?
    public var terminating: Int32?
    public var ready: Int32?
    public var completedIndexes: String?
    public var uncountedTerminatedPods: JSONValue?
    public init() {}
}

// MARK: batch/v1 CronJob

public struct CronJob: Codable, Sendable, Hashable {
    public var apiVersion: String? = "batch/v1"
    public var kind: String? = "CronJob"
    public var metadata: ObjectMeta
    public var spec: CronJobSpec
    public var status: JSONValue?
}

public struct JobTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: JobSpec
}

public struct CronJobSpec: Codable, Sendable, Hashable {
    public var schedule: String
    public var timeZone: String?
    public var startingDeadlineSeconds: Int64?
    public var concurrencyPolicy: String?
    public var suspend: Bool?
    public var successfulJobsHistoryLimit: Int32?
    public var failedJobsHistoryLimit: Int32?
    public var jobTemplate: JobTemplateSpec
}

// MARK: apps/v1 Deployment and ReplicaSet

public struct Deployment: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "Deployment"
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec
    public var status: DeploymentStatus?
}

public struct DeploymentSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var selector: LabelSelector
    public var template: PodTemplateSpec
    public var strategy: DeploymentStrategy?
    public var minReadySeconds: Int32?
    public var revisionHistoryLimit: Int32?
    public var paused: Bool?
    public var progressDeadlineSeconds: Int32?
}

public struct DeploymentStrategy: Codable, Sendable, Hashable {
    public var type: String?
    public var rollingUpdate: RollingUpdateDeployment?
}

public struct RollingUpdateDeployment: Codable, Sendable, Hashable {
    public var maxUnavailable: IntOrString?
    public var maxSurge: IntOrString?
}

public struct DeploymentStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var replicas: Int32?
    public var updatedReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var unavailableReplicas: Int32?
    public var conditions: [Condition]?
    public init() {}
}

public struct ReplicaSet: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "ReplicaSet"
    public var metadata: ObjectMeta
    public var spec: ReplicaSetSpec
    public var status: ReplicaSetStatus?
}

public struct ReplicaSetSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var minReadySeconds: Int32?
    public var selector: LabelSelector
    public var template: PodTemplateSpec
}

public struct ReplicaSetStatus: Codable, Sendable, Hashable {
    public var replicas: Int32
    public var fullyLabeledReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var observedGeneration: Int64?
    public init(replicas: Int32) { self.replicas = replicas }
}

// MARK: core/v1 objects that travel with Pods

public struct ConfigMap: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?
}

public struct Secret: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Secret"
    public var metadata: ObjectMeta
    /// Base64-encoded values, as on the wire.
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?
}

public struct Service: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Service"
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?
    public var status: JSONValue?
}

public struct ServiceSpec: Codable, Sendable, Hashable {
    public var selector: [String: String]?
    public var ports: [ServicePort]?
    public var type: String?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var externalName: String?
    public var externalIPs: [String]?
    public var sessionAffinity: String?
    public var sessionAffinityConfig: JSONValue?
    public var loadBalancerIP: String?
    public var loadBalancerSourceRanges: [String]?
    public var externalTrafficPolicy: String?
    public var internalTrafficPolicy: String?
    public var ipFamilies: [String]?
    public var ipFamilyPolicy: String?
    public var publishNotReadyAddresses: Bool?
    public var healthCheckNodePort: Int32?
    public var allocateLoadBalancerNodePorts: Bool?
    public var loadBalancerClass: String?
    public var trafficDistribution: String?
}

public struct ServicePort: Codable, Sendable, Hashable {
    public var name: String?
    public var port: Int32
    public var targetPort: IntOrString?
    public var nodePort: Int32?
    public var `protocol`: String?
    public var appProtocol: String?
}

public struct Namespace: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Namespace"
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: JSONValue?
}
