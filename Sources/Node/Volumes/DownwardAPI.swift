import Foundation
import KubeAPI
#if canImport(Glibc)
import Glibc
#endif

/// The node's allocatable resources, which stand in for a container's unset limits in the
/// downward API (`MergeContainerResourceLimits` with `GetNodeAllocatable`).
public struct NodeAllocatable: Sendable, Hashable {
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    public var ephemeralStorageBytes: Int64

    public init(cpuMillis: Int64, memoryBytes: Int64, ephemeralStorageBytes: Int64) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.ephemeralStorageBytes = ephemeralStorageBytes
    }

    /// This machine: every online CPU, all physical memory, the size of the root filesystem.
    /// Tandem reserves nothing for system daemons, so capacity is allocatable.
    public static var host: NodeAllocatable {
        let cpus = Int64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let memory = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
        var fs = statvfs()
        let storage: Int64 = statvfs("/", &fs) == 0 ? Int64(fs.f_blocks) * Int64(fs.f_frsize) : 0
        return NodeAllocatable(cpuMillis: cpus * 1000, memoryBytes: memory, ephemeralStorageBytes: storage)
    }
}

/// The downward API for volumes (pkg/fieldpath/fieldpath.go and pkg/api/v1/resource/helpers.go).
enum DownwardAPI {
    /// `fieldpath.ExtractFieldPathAsString`: the metadata fields a volume file may carry.
    static func fieldValue(_ fieldPath: String, pod: Pod) throws -> String {
        if let split = FieldPath.splitMaybeSubscripted(fieldPath) {
            switch split.path {
            case "metadata.annotations": return pod.metadata.annotations?[split.key] ?? ""
            case "metadata.labels": return pod.metadata.labels?[split.key] ?? ""
            default: throw VolumeError("fieldPath \(GoSyntax.quote(fieldPath)) does not support subscript")
            }
        }
        switch fieldPath {
        case "metadata.annotations": return formatMap(pod.metadata.annotations ?? [:])
        case "metadata.labels": return formatMap(pod.metadata.labels ?? [:])
        case "metadata.name": return pod.name
        case "metadata.namespace": return pod.namespace
        case "metadata.uid": return pod.uid
        default: throw VolumeError("unsupported fieldPath: \(fieldPath)")
        }
    }

    /// `fieldpath.FormatMap`: sorted `key="value"` lines (`%v=%q`), no trailing newline.
    static func formatMap(_ map: [String: String]) -> String {
        map.keys.sorted().map { "\($0)=\(GoSyntax.quote(map[$0]!))" }.joined(separator: "\n")
    }


    // MARK: resourceFieldRef

    /// `ExtractResourceValueByContainerNameAndNodeAllocatable`: the container's value for
    /// `resource` divided by `divisor`, rounded up; an unset limit is the node's allocatable.
    static func resourceValue(_ ref: ResourceFieldSelector, pod: Pod, allocatable: NodeAllocatable) throws -> String {
        let name = ref.containerName ?? ""
        let all = pod.spec.containers + (pod.spec.initContainers ?? [])
        guard let container = all.first(where: { $0.name == name }) else {
            throw VolumeError("container \(name) not found")
        }
        let limits = container.resources?.limits ?? [:]
        // API defaulting (SetDefaults_Pod): an unset request equals the limit when one is set.
        var requests = container.resources?.requests ?? [:]
        for (k, v) in limits where requests[k] == nil { requests[k] = v }

        // A zero (or absent) divisor means 1 (`ExtractContainerResourceValue`).
        var divisor = Decimal(1)
        if let d = ref.divisor {
            guard let parsed = d.exactValue else { throw VolumeError("invalid divisor \(d.string)") }
            if parsed != 0 { divisor = parsed }
        }

        func limit(_ key: String, _ fallback: Decimal) throws -> Decimal {
            guard let q = limits[key] else { return fallback }
            guard let v = q.exactValue else { throw VolumeError("invalid quantity \(q.string)") }
            return v
        }
        func request(_ key: String) throws -> Decimal {
            guard let q = requests[key] else { return 0 }
            guard let v = q.exactValue else { throw VolumeError("invalid quantity \(q.string)") }
            return v
        }

        switch ref.resource {
        case "limits.cpu": return cpuString(try limit("cpu", Decimal(allocatable.cpuMillis) / 1000), divisor)
        case "requests.cpu": return cpuString(try request("cpu"), divisor)
        case "limits.memory": return bytesString(try limit("memory", Decimal(allocatable.memoryBytes)), divisor)
        case "requests.memory": return bytesString(try request("memory"), divisor)
        case "limits.ephemeral-storage": return bytesString(try limit("ephemeral-storage", Decimal(allocatable.ephemeralStorageBytes)), divisor)
        case "requests.ephemeral-storage": return bytesString(try request("ephemeral-storage"), divisor)
        default:
            if ref.resource.hasPrefix("limits.hugepages-") || ref.resource.hasPrefix("requests.hugepages-") {
                let key = String(ref.resource.split(separator: ".", maxSplits: 1)[1])
                let v = ref.resource.hasPrefix("limits.") ? try limit(key, 0) : try request(key)
                return bytesString(v, divisor)
            }
            throw VolumeError("unsupported container resource : \(ref.resource)")
        }
    }

    /// `convertResourceCPUToString`: ceil(MilliValue / divisor.MilliValue).
    private static func cpuString(_ cores: Decimal, _ divisor: Decimal) -> String {
        ceilString(ceil(cores * 1000) / ceil(divisor * 1000))
    }

    /// `convertResourceMemoryToString`: ceil(Value / divisor.Value).
    private static func bytesString(_ bytes: Decimal, _ divisor: Decimal) -> String {
        ceilString(ceil(bytes) / ceil(divisor))
    }

    private static func ceil(_ d: Decimal) -> Decimal {
        var value = d
        var result = Decimal()
        NSDecimalRound(&result, &value, 0, .up)
        return result
    }

    private static func ceilString(_ d: Decimal) -> String {
        "\(ceil(d))"
    }
}
