import Foundation
import KubeAPI
import PodLifecycle

/// The printers (`printers.go`) of the kinds the node and the recorders write: Events, Nodes,
/// ServiceAccounts, Leases, and the `kubernetes` Service's Endpoints and EndpointSlices. The server prints wide (every column); kubectl hides priority-1 columns
/// unless `-o wide`.
extension Tables {
    static func breadthColumns(_ r: APIResource) -> [Column]? {
        switch r.kind {
        case "Event":
            return [Column(name: "Last Seen"), Column(name: "Type"), Column(name: "Reason"), Column(name: "Object"),
                    Column(name: "Subobject", priority: 1), Column(name: "Source", priority: 1), Column(name: "Message"),
                    Column(name: "First Seen", priority: 1), Column(name: "Count", priority: 1), Column(name: "Name", format: "name", priority: 1)]
        case "Node":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Roles"), Column(name: "Age"), Column(name: "Version"),
                    Column(name: "Internal-IP", priority: 1), Column(name: "External-IP", priority: 1), Column(name: "OS-Image", priority: 1),
                    Column(name: "Kernel-Version", priority: 1), Column(name: "Container-Runtime", priority: 1)]
        case "ServiceAccount":
            return [Column(name: "Name", format: "name"), Column(name: "Secrets", type: "integer"), Column(name: "Age")]
        case "Lease":
            return [Column(name: "Name", format: "name"), Column(name: "Holder"), Column(name: "Age")]
        case "Endpoints":
            return [Column(name: "Name", format: "name"), Column(name: "Endpoints"), Column(name: "Age")]
        case "EndpointSlice":
            return [Column(name: "Name", format: "name"), Column(name: "AddressType"), Column(name: "Ports"), Column(name: "Endpoints"), Column(name: "Age")]
        default:
            return nil
        }
    }

    static func breadthCells(_ r: APIResource, _ o: JSONValue, now: Date) -> [JSONValue]? {
        func since(_ field: JSONValue?) -> String? {
            Timestamp.date(field?.stringValue ?? "").map { PodPrinter.humanDuration(now.timeIntervalSince($0)) }
        }
        let name = o["metadata"]?["name"]?.stringValue ?? ""
        let age = since(o["metadata"]?["creationTimestamp"]) ?? "<unknown>"
        switch r.kind {
        case "Event":
            let first = since(o["firstTimestamp"]) ?? since(o["eventTime"]) ?? "<unknown>"
            let last = since(o["lastTimestamp"]) ?? first
            let count: Int64 = if case .int(let c)? = o["count"], c > 0 { c } else { 1 }
            let involved = o["involvedObject"]
            let kind = (involved?["kind"]?.stringValue ?? "").lowercased()
            let target = (involved?["name"]?.stringValue).map { $0.isEmpty ? kind : "\(kind)/\($0)" } ?? kind
            let component = o["source"]?["component"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? o["reportingComponent"]?.stringValue ?? ""
            let host = o["source"]?["host"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? o["reportingInstance"]?.stringValue ?? ""
            return [.string(last), .string(o["type"]?.stringValue ?? ""), .string(o["reason"]?.stringValue ?? ""), .string(target),
                    .string(involved?["fieldPath"]?.stringValue ?? ""), .string(host.isEmpty ? component : "\(component), \(host)"),
                    .string((o["message"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)),
                    .string(first), .int(count), .string(name)]
        case "Node":
            let conditions = o["status"]?["conditions"]?.arrayValue ?? []
            var status: [String] = []
            if let ready = conditions.first(where: { $0["type"]?.stringValue == "Ready" }) {
                status.append(ready["status"]?.stringValue == "True" ? "Ready" : "NotReady")
            } else {
                status.append("Unknown")
            }
            if o["spec"]?["unschedulable"] == .bool(true) { status.append("SchedulingDisabled") }
            let roles = (o["metadata"]?["labels"]?.objectValue ?? [:]).keys.compactMap { k -> String? in
                k.hasPrefix("node-role.kubernetes.io/") ? String(k.dropFirst("node-role.kubernetes.io/".count)) : nil
            }.sorted()
            let addresses = o["status"]?["addresses"]?.arrayValue ?? []
            func address(_ type: String) -> String {
                addresses.first { $0["type"]?.stringValue == type }?["address"]?.stringValue ?? "<none>"
            }
            let info = o["status"]?["nodeInfo"]
            return [.string(name), .string(status.joined(separator: ",")), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")),
                    .string(age), .string(info?["kubeletVersion"]?.stringValue ?? ""), .string(address("InternalIP")), .string(address("ExternalIP")),
                    .string(info?["osImage"]?.stringValue ?? "<unknown>"), .string(info?["kernelVersion"]?.stringValue ?? "<unknown>"),
                    .string(info?["containerRuntimeVersion"]?.stringValue ?? "<unknown>")]
        case "ServiceAccount":
            return [.string(name), .int(Int64(o["secrets"]?.arrayValue?.count ?? 0)), .string(age)]
        case "Lease":
            return [.string(name), .string(o["spec"]?["holderIdentity"]?.stringValue ?? ""), .string(age)]
        case "Endpoints":
            // `formatEndpoints`: ip:port for every port of every subset (bare IPs without ports).
            let subsets = o["subsets"]?.arrayValue ?? []
            let all = subsets.flatMap { ss -> [String] in
                let ips = (ss["addresses"]?.arrayValue ?? []).map { $0["ip"]?.stringValue ?? "" }
                let ports = ss["ports"]?.arrayValue ?? []
                return ports.isEmpty ? ips : ports.flatMap { p in ips.map { "\($0):\(portNumber(p))" } }
            }
            return [.string(name), .string(subsets.isEmpty ? "<none>" : shortList(all)), .string(age)]
        case "EndpointSlice":
            // `formatDiscoveryPorts`, `formatDiscoveryEndpoints`.
            let ports = (o["ports"]?.arrayValue ?? []).map(portNumber)
            let addresses = (o["endpoints"]?.arrayValue ?? []).flatMap { ($0["addresses"]?.arrayValue ?? []).compactMap(\.stringValue) }
            return [.string(name), .string(o["addressType"]?.stringValue ?? ""), .string(ports.isEmpty ? "<unset>" : ports.joined(separator: ",")),
                    .string(addresses.isEmpty ? "<unset>" : shortList(addresses)), .string(age)]
        default:
            return nil
        }
    }

    static func portNumber(_ p: JSONValue) -> String {
        if case .int(let n)? = p["port"] { "\(n)" } else { "" }
    }

    /// The printers' lists of addresses: the first three, then `+ N more...`.
    static func shortList(_ items: [String]) -> String {
        items.count <= 3 ? items.joined(separator: ",") : items.prefix(3).joined(separator: ",") + " + \(items.count - 3) more..."
    }
}
