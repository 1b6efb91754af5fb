import Foundation
import KubeAPI
import PodLifecycle

/// The PodDisruptionBudget printer (`printPodDisruptionBudget`): `NAME MIN AVAILABLE MAX
/// UNAVAILABLE ALLOWED DISRUPTIONS AGE`, `N/A` for the bound not set.
extension Tables {
    static func policyColumns(_ r: APIResource) -> [Column]? {
        guard r == .podDisruptionBudgets else { return nil }
        return [Column(name: "Name", format: "name", description: "Name must be unique within a namespace."),
                Column(name: "Min Available", description: "The minimum number of pods that must be available simultaneously. This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
                Column(name: "Max Unavailable", description: "The maximum number of pods that may be unavailable simultaneously. This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
                Column(name: "Allowed Disruptions", type: "integer", description: "Number of pod disruptions that are currently allowed."),
                Column(name: "Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created.")]
    }

    static func policyCells(_ r: APIResource, _ o: JSONValue, now: Date) -> [JSONValue]? {
        guard r == .podDisruptionBudgets else { return nil }
        func bound(_ v: JSONValue?) -> String {
            switch v {
            case .int(let n)?: "\(n)"
            case .string(let s)?: s
            default: "N/A"
            }
        }
        let age = Timestamp.date(o["metadata"]?["creationTimestamp"]?.stringValue ?? "").map { PodPrinter.humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>"
        let allowed: Int64 = if case .int(let n)? = o["status"]?["disruptionsAllowed"] { n } else { 0 }
        return [.string(o["metadata"]?["name"]?.stringValue ?? ""), .string(bound(o["spec"]?["minAvailable"])),
                .string(bound(o["spec"]?["maxUnavailable"])), .int(allowed), .string(age)]
    }
}
