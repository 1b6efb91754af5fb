import ContainerRuntime
import Foundation
import KubeAPI

/// A container's securityContext as the kubelet hands it to containerd and containerd to runc
/// (`determineEffectiveSecurityContext`, `verifyRunAsNonRoot`, containerd's `WithCapabilities`,
/// `GetContainerOOMScoreAdjust`): pod-level fields apply unless the container overrides them.
enum ContainerSecurity {
    /// Linux capability numbers by name (linux/capability.h).
    static let capabilityNumbers: [String: Int] = [
        "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
        "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10,
        "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
        "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20,
        "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25,
        "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
        "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
        "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
    ]

    /// containerd's default capabilities for a non-privileged container (`oci.DefaultCapabilities`
    /// via the CRI plugin's `populateDefaultUnixSpec`): the familiar `CapEff: 00000000a80425fb`.
    static let defaultCapabilities = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                                      "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                      "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

    static func mask(_ names: [String]) -> UInt64 {
        names.reduce(0) { m, n in capabilityNumbers[n].map { m | (1 << UInt64($0)) } ?? m }
    }

    /// containerd's `WithCapabilities`: `ALL` in add or drop first, then the named ones, each
    /// upper-cased with `CAP_` put in front (so `CAP_SYS_ADMIN` in a manifest names nothing, and
    /// names the kernel does not know are ignored, as runc ignores them). nil for privileged: every
    /// capability is kept.
    static func capabilities(_ sc: SecurityContext?) -> UInt64? {
        if sc?.privileged == true { return nil }
        var m = mask(defaultCapabilities)
        let add = sc?.capabilities?.add ?? [], drop = sc?.capabilities?.drop ?? []
        if add.contains(where: { $0.uppercased() == "ALL" }) { m = mask(Array(capabilityNumbers.keys)) }
        if drop.contains(where: { $0.uppercased() == "ALL" }) { m = 0 }
        m |= mask(add.filter { $0.uppercased() != "ALL" }.map { "CAP_" + $0.uppercased() })
        m &= ~mask(drop.filter { $0.uppercased() != "ALL" }.map { "CAP_" + $0.uppercased() })
        return m
    }

    /// `verifyRunAsNonRoot`. Every image Tandem runs is a host command with no user of its own,
    /// so without `runAsUser` the image's user is root.
    static func verifyRunAsNonRoot(_ pod: Pod, _ c: Container) throws {
        guard c.effectiveRunAsNonRoot(pod.spec) == true else { return }
        let who = "(pod: \"\(pod.name)_\(pod.namespace)(\(pod.uid))\", container: \(c.name))"
        if let uid = c.effectiveRunAsUser(pod.spec) {
            if uid == 0 { throw ContainerConfigError(description: "container's runAsUser breaks non-root policy \(who)") }
            return
        }
        throw ContainerConfigError(description: "container has runAsNonRoot and image will run as root \(who)")
    }

    /// `GetContainerOOMScoreAdjust`: Guaranteed -997, BestEffort 1000, Burstable by the share of
    /// the machine's memory it requests, kept within [3, 999].
    static func oomScoreAdj(qosClass: String, container: Container, memoryCapacity: Int64) -> Int {
        switch qosClass {
        case "Guaranteed": return -997
        case "BestEffort": return 1000
        default:
            let request = max(container.resources?.requests?["memory"]?.int64Value ?? 0, 0)
            let (scaled, overflow) = request.multipliedReportingOverflow(by: 1000)
            let adj = overflow ? 3 : 1000 - scaled / max(memoryCapacity, 1)
            if adj < 3 { return 3 }
            if adj == 1000 { return 999 }
            return Int(adj)
        }
    }

    /// The process side of the securityContext, without its cgroups.
    static func isolation(_ pod: Pod, _ c: Container, qosClass: String, memoryCapacity: Int64) throws -> ProcessIsolation {
        try verifyRunAsNonRoot(pod, c)
        var iso = ProcessIsolation()
        let gid = c.effectiveRunAsGroup(pod.spec) ?? 0
        iso.uid = UInt32(c.effectiveRunAsUser(pod.spec) ?? 0)
        iso.gid = UInt32(gid)
        // containerd's additional gids: the primary group first, then the pod's supplementalGroups
        // and its fsGroup (which the kubelet appends to them).
        var groups = [gid] + (pod.spec.securityContext?.supplementalGroups ?? [])
        if let fsGroup = pod.spec.securityContext?.fsGroup { groups.append(fsGroup) }
        var seen = Set<Int64>()
        iso.groups = groups.filter { seen.insert($0).inserted }.map { UInt32($0) }
        iso.capabilities = capabilities(c.securityContext)
        // `AddNoNewPrivileges`: only an explicit false sets no_new_privs.
        iso.noNewPrivileges = c.securityContext?.allowPrivilegeEscalation == false
        iso.readOnlyRoot = c.securityContext?.readOnlyRootFilesystem == true
        iso.hostDevices = c.securityContext?.privileged == true
        iso.oomScoreAdj = oomScoreAdj(qosClass: qosClass, container: c, memoryCapacity: memoryCapacity)
        return iso
    }
}
