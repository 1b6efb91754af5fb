/// core/v1 `PodSecurityContext` and `SecurityContext`. The fields Tandem applies are typed; the
/// rest (SELinux, seccomp, AppArmor, Windows options) are kept as written so a manifest still
/// round-trips and strict decoding accepts it.
public struct PodSecurityContext: Codable, Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var supplementalGroups: [Int64]?
    public var supplementalGroupsPolicy: String?
    public var fsGroup: Int64?
    public var fsGroupChangePolicy: String?
    public var seLinuxOptions: JSONValue?
    public var seLinuxChangePolicy: String?
    public var windowsOptions: JSONValue?
    public var sysctls: [JSONValue]?
    public var seccompProfile: JSONValue?
    public var appArmorProfile: JSONValue?

    public init() {}
}

public struct SecurityContext: Codable, Sendable, Hashable {
    public var capabilities: Capabilities?
    public var privileged: Bool?
    public var seLinuxOptions: JSONValue?
    public var windowsOptions: JSONValue?
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var procMount: String?
    public var seccompProfile: JSONValue?
    public var appArmorProfile: JSONValue?

    public init() {}
}

public struct Capabilities: Codable, Sendable, Hashable {
    public var add: [String]?
    public var drop: [String]?

    public init(add: [String]? = nil, drop: [String]? = nil) {
        self.add = add
        self.drop = drop
    }
}

extension Container {
    /// The user the container runs as: the container's `runAsUser`, else the pod's
    /// (`DetermineEffectiveSecurityContext`); nil is the image's user (root for every image Tandem knows).
    public func effectiveRunAsUser(_ pod: PodSpec) -> Int64? { securityContext?.runAsUser ?? pod.securityContext?.runAsUser }
    public func effectiveRunAsGroup(_ pod: PodSpec) -> Int64? { securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup }
    public func effectiveRunAsNonRoot(_ pod: PodSpec) -> Bool? { securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot }
}
