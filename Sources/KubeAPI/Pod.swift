/// core/v1 Pod and the types it is made of. Field names and optionality follow the
/// Kubernetes OpenAPI schema so that a manifest round-trips unchanged; fields Tandem does not
/// act on are still declared (as `JSONValue` where their shape does not matter) so that strict
/// decoding accepts every valid manifest.
public struct Pod: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Pod"
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public var name: String { metadata.name ?? "" }
    public var namespace: String { metadata.namespace ?? "default" }
    public var uid: String { metadata.uid ?? "" }
}

public struct PodSpec: Codable, Sendable, Hashable {
    public var initContainers: [Container]?
    public var containers: [Container]
    public var ephemeralContainers: [EphemeralContainer]?
    public var volumes: [Volume]?
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var dnsPolicy: String?
    public var dnsConfig: JSONValue?
    public var nodeSelector: [String: String]?
    public var nodeName: String?
    public var serviceAccountName: String?
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var hostUsers: Bool?
    public var shareProcessNamespace: Bool?
    public var securityContext: PodSecurityContext?
    public var imagePullSecrets: [JSONValue]?
    public var hostname: String?
    public var subdomain: String?
    public var setHostnameAsFQDN: Bool?
    public var affinity: JSONValue?
    public var schedulerName: String?
    public var tolerations: [JSONValue]?
    public var hostAliases: [JSONValue]?
    public var priorityClassName: String?
    public var priority: Int32?
    public var readinessGates: [PodReadinessGate]?
    public var runtimeClassName: String?
    public var enableServiceLinks: Bool?
    public var preemptionPolicy: String?
    public var overhead: [String: Quantity]?
    public var topologySpreadConstraints: [JSONValue]?
    public var os: JSONValue?
    public var schedulingGates: [JSONValue]?
    public var resourceClaims: [JSONValue]?
    public var resources: ResourceRequirements?

    public init(containers: [Container], initContainers: [Container]? = nil, volumes: [Volume]? = nil, restartPolicy: String? = nil) {
        self.containers = containers
        self.initContainers = initContainers
        self.volumes = volumes
        self.restartPolicy = restartPolicy
    }
}

public struct PodReadinessGate: Codable, Sendable, Hashable {
    public var conditionType: String
    public init(conditionType: String) { self.conditionType = conditionType }
}

public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort]?
    public var envFrom: [EnvFromSource]?
    public var env: [EnvVar]?
    public var resources: ResourceRequirements?
    public var resizePolicy: [JSONValue]?
    public var restartPolicy: String?
    public var volumeMounts: [VolumeMount]?
    public var volumeDevices: [JSONValue]?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    public var terminationMessagePath: String?
    public var terminationMessagePolicy: String?
    public var imagePullPolicy: String?
    public var securityContext: SecurityContext?
    public var stdin: Bool?
    public var stdinOnce: Bool?
    public var tty: Bool?

    public init(name: String, image: String? = "busybox", command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
    }

    /// `podutil.IsRestartableInitContainer`: an init container with `restartPolicy: Always`.
    public var isSidecar: Bool { restartPolicy == "Always" }
}

/// core/v1 EphemeralContainer (`kubectl debug`): a Container's fields (`EphemeralContainerCommon`,
/// which the API server converts to a `Container` to validate and the kubelet to run) plus the
/// regular container whose process namespace it joins. Coded as one flat object, as on the wire.
public struct EphemeralContainer: Codable, Sendable, Hashable {
    public var container: Container
    public var targetContainerName: String?

    public init(_ container: Container, targetContainerName: String? = nil) {
        self.container = container
        self.targetContainerName = targetContainerName
    }

    public var name: String { container.name }

    private enum CodingKeys: String, CodingKey { case targetContainerName }

    public init(from decoder: any Decoder) throws {
        container = try Container(from: decoder)
        targetContainerName = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .targetContainerName)
    }

    public func encode(to encoder: any Encoder) throws {
        try container.encode(to: encoder)
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encodeIfPresent(targetContainerName, forKey: .targetContainerName)
    }
}

public struct ContainerPort: Codable, Sendable, Hashable {
    public var name: String?
    public var containerPort: Int32
    public var hostPort: Int32?
    public var hostIP: String?
    public var `protocol`: String?
}

public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

public struct EnvVarSource: Codable, Sendable, Hashable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: KeySelector?
    public var secretKeyRef: KeySelector?
}

public struct ObjectFieldSelector: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var fieldPath: String
}

public struct ResourceFieldSelector: Codable, Sendable, Hashable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?
}

public struct KeySelector: Codable, Sendable, Hashable {
    public var name: String?
    public var key: String
    public var optional: Bool?
}

public struct EnvFromSource: Codable, Sendable, Hashable {
    public var prefix: String?
    public var configMapRef: LocalObjectReference?
    public var secretRef: LocalObjectReference?
}

public struct LocalObjectReference: Codable, Sendable, Hashable {
    public var name: String?
    public var optional: Bool?
}

public struct ResourceRequirements: Codable, Sendable, Hashable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public var claims: [JSONValue]?

    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?
    public var subPathExpr: String?
    public var mountPropagation: String?
    public var recursiveReadOnly: String?

    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

public struct Probe: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int32?
    public var timeoutSeconds: Int32?
    public var periodSeconds: Int32?
    public var successThreshold: Int32?
    public var failureThreshold: Int32?
    public var terminationGracePeriodSeconds: Int64?

    public init(exec: ExecAction? = nil, httpGet: HTTPGetAction? = nil, tcpSocket: TCPSocketAction? = nil) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
    }
}

public struct ExecAction: Codable, Sendable, Hashable {
    public var command: [String]?
    public init(command: [String]) { self.command = command }
}

public struct HTTPGetAction: Codable, Sendable, Hashable {
    public var path: String?
    public var port: IntOrString
    public var host: String?
    public var scheme: String?
    public var httpHeaders: [HTTPHeader]?
}

public struct HTTPHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
}

public struct TCPSocketAction: Codable, Sendable, Hashable {
    public var port: IntOrString
    public var host: String?
}

public struct GRPCAction: Codable, Sendable, Hashable {
    public var port: Int32
    public var service: String?
}

public struct SleepAction: Codable, Sendable, Hashable {
    public var seconds: Int64
}

public struct LifecycleHandler: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?
}

public struct Lifecycle: Codable, Sendable, Hashable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    public var stopSignal: String?
}

public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var emptyDir: EmptyDirVolumeSource?
    public var hostPath: HostPathVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var secret: SecretVolumeSource?
    public var downwardAPI: DownwardAPIVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var persistentVolumeClaim: JSONValue?
    public var nfs: JSONValue?
    public var csi: JSONValue?
    public var ephemeral: JSONValue?
    public var image: JSONValue?

    public init(name: String, emptyDir: EmptyDirVolumeSource? = nil) {
        self.name = name
        self.emptyDir = emptyDir
    }

    /// How many volume sources are set; validation requires exactly one.
    public var sourceCount: Int {
        let sources: [Any?] = [emptyDir, hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim, nfs, csi, ephemeral, image]
        return sources.compactMap { $0 }.count
    }
}

public struct EmptyDirVolumeSource: Codable, Sendable, Hashable {
    public var medium: String?
    public var sizeLimit: Quantity?
    public init() {}
}

public struct HostPathVolumeSource: Codable, Sendable, Hashable {
    public var path: String
    public var type: String?
}

public struct KeyToPath: Codable, Sendable, Hashable {
    public var key: String
    public var path: String
    public var mode: Int32?
}

public struct ConfigMapVolumeSource: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct SecretVolumeSource: Codable, Sendable, Hashable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct DownwardAPIVolumeFile: Codable, Sendable, Hashable {
    public var path: String
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int32?
}

public struct DownwardAPIVolumeSource: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?
    public var defaultMode: Int32?
}

public struct DownwardAPIProjection: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?
}

public struct ConfigMapProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct SecretProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct VolumeProjection: Codable, Sendable, Hashable {
    public var configMap: ConfigMapProjection?
    public var secret: SecretProjection?
    public var downwardAPI: DownwardAPIProjection?
    public var serviceAccountToken: JSONValue?
    public var clusterTrustBundle: JSONValue?
}

public struct ProjectedVolumeSource: Codable, Sendable, Hashable {
    public var sources: [VolumeProjection]?
    public var defaultMode: Int32?
}

// MARK: - Status

public struct PodStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var conditions: [Condition]?
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var hostIPs: [PodIP]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: String?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?
    public var ephemeralContainerStatuses: [ContainerStatus]?
    public var qosClass: String?

    public init() {}
}

public struct PodIP: Codable, Sendable, Hashable {
    public var ip: String
    public init(ip: String) { self.ip = ip }
}

public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var state: ContainerState
    public var lastState: ContainerState
    public var ready: Bool
    public var restartCount: Int32
    public var image: String
    public var imageID: String
    public var containerID: String?
    public var started: Bool?

    public init(name: String, state: ContainerState, lastState: ContainerState = .init(), ready: Bool, restartCount: Int32, image: String, imageID: String = "", containerID: String? = nil, started: Bool? = nil) {
        self.name = name
        self.state = state
        self.lastState = lastState
        self.ready = ready
        self.restartCount = restartCount
        self.image = image
        self.imageID = imageID
        self.containerID = containerID
        self.started = started
    }
}

public struct ContainerState: Codable, Sendable, Hashable {
    public var waiting: ContainerStateWaiting?
    public var running: ContainerStateRunning?
    public var terminated: ContainerStateTerminated?

    public init(waiting: ContainerStateWaiting? = nil, running: ContainerStateRunning? = nil, terminated: ContainerStateTerminated? = nil) {
        self.waiting = waiting
        self.running = running
        self.terminated = terminated
    }
}

public struct ContainerStateWaiting: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?
    public init(reason: String?, message: String? = nil) {
        self.reason = reason
        self.message = message
    }
}

public struct ContainerStateRunning: Codable, Sendable, Hashable {
    public var startedAt: String?
    public init(startedAt: String?) { self.startedAt = startedAt }
}

public struct ContainerStateTerminated: Codable, Sendable, Hashable {
    public var exitCode: Int32
    public var signal: Int32?
    public var reason: String?
    public var message: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var containerID: String?

    public init(exitCode: Int32, reason: String?, message: String? = nil, startedAt: String?, finishedAt: String?, containerID: String? = nil) {
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.containerID = containerID
    }
}
