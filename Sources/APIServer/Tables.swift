import Foundation
import KubeAPI
import PodLifecycle

/// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the
/// columns `kubectl get` shows, computed here as the API server's `printers.go` does. Pod cells
/// come from `PodLifecycle.PodPrinter`, the same rule `tandem run`'s timeline prints with
/// (`Tables+Pod.swift` feeds it from the stored JSON).
enum Tables {
    struct Column {
        var name: String
        var type: String = "string"
        var format: String = ""
        var priority: Int = 0
        var description: String = ""
    }

    static func columns(_ r: APIResource) -> [Column] {
        if let custom = r.custom {
            return [Column(name: "Name", format: "name", description: "Name must be unique within a namespace.")]
                + custom.columns.map { Column(name: $0.name, type: $0.type, format: $0.format, priority: $0.priority, description: $0.description) }
        }
        if let columns = breadthColumns(r) ?? policyColumns(r) { return columns }
        switch r.kind {
        case "Pod":
            return [Column(name: "Name", format: "name", description: "Name must be unique within a namespace."),
                    Column(name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                    Column(name: "Status", description: "The aggregate status of the containers in this pod."),
                    Column(name: "Restarts", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                    Column(name: "Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created."),
                    Column(name: "IP", priority: 1, description: "IP address allocated to the pod."),
                    Column(name: "Node", priority: 1, description: "Name of the Node this pod is assigned to."),
                    Column(name: "Nominated Node", priority: 1, description: "Name of the node this pod is nominated to."),
                    Column(name: "Readiness Gates", priority: 1, description: "Readiness gates of this pod.")]
        case "Namespace":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Age")]
        case "Deployment":
            return [Column(name: "Name", format: "name"), Column(name: "Ready"), Column(name: "Up-to-date", type: "integer"),
                    Column(name: "Available", type: "integer"), Column(name: "Age"),
                    Column(name: "Containers", priority: 1), Column(name: "Images", priority: 1), Column(name: "Selector", priority: 1)]
        case "ReplicaSet":
            return [Column(name: "Name", format: "name"), Column(name: "Desired", type: "integer"), Column(name: "Current", type: "integer"),
                    Column(name: "Ready", type: "integer"), Column(name: "Age"),
                    Column(name: "Containers", priority: 1), Column(name: "Images", priority: 1), Column(name: "Selector", priority: 1)]
        case "Job":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Completions"), Column(name: "Duration"), Column(name: "Age"),
                    Column(name: "Containers", priority: 1), Column(name: "Images", priority: 1), Column(name: "Selector", priority: 1)]
        case "ConfigMap":
            return [Column(name: "Name", format: "name"), Column(name: "Data", type: "integer"), Column(name: "Age")]
        case "Service":
            return [Column(name: "Name", format: "name"), Column(name: "Type"), Column(name: "Cluster-IP"), Column(name: "External-IP"),
                    Column(name: "Port(s)"), Column(name: "Age"), Column(name: "Selector", priority: 1)]
        case "Secret":
            return [Column(name: "Name", format: "name"), Column(name: "Type"), Column(name: "Data", type: "integer"), Column(name: "Age")]
        default:
            return [Column(name: "Name", format: "name"), Column(name: "Created At", type: "date")]
        }
    }

    static func cells(_ r: APIResource, _ o: JSONValue, now: Date) -> [JSONValue] {
        if r.custom == nil, r.kind == "Pod" { return podCells(o, now: now) }
        let name = JSONValue.string(o["metadata"]?["name"]?.stringValue ?? "")
        let age = JSONValue.string(Timestamp.date(o["metadata"]?["creationTimestamp"]?.stringValue ?? "").map { PodPrinter.humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>")
        func int(_ v: JSONValue?) -> Int64 { if case .int(let i)? = v { i } else { 0 } }
        if let custom = r.custom { return CustomResources.cells(custom, o, now: now) }
        if let cells = breadthCells(r, o, now: now) ?? policyCells(r, o, now: now) { return cells }
        switch r.kind {
        case "Namespace":
            return [name, .string(o["status"]?["phase"]?.stringValue ?? "Active"), age]
        case "Deployment":
            let desired = int(o["spec"]?["replicas"])
            return [name, .string("\(int(o["status"]?["readyReplicas"]))/\(desired)"), .int(int(o["status"]?["updatedReplicas"])),
                    .int(int(o["status"]?["availableReplicas"])), age] + templateCells(o)
        case "ReplicaSet":
            return [name, .int(int(o["spec"]?["replicas"])), .int(int(o["status"]?["replicas"])), .int(int(o["status"]?["readyReplicas"])), age] + templateCells(o)
        case "Job":
            let conditions = o["status"]?["conditions"]?.arrayValue ?? []
            let state: String? = ["Complete", "Failed", "FailureTarget", "Suspended"].first { t in conditions.contains { $0["type"]?.stringValue == t && $0["status"]?.stringValue == "True" } }
            let completions = o["spec"]?["completions"].map { int($0) }
            let succeeded = int(o["status"]?["succeeded"])
            let comp = completions.map { "\(succeeded)/\($0)" } ?? "\(succeeded)/1 of \(int(o["spec"]?["parallelism"]))"
            var duration = ""
            if let start = Timestamp.date(o["status"]?["startTime"]?.stringValue ?? "") {
                let end = Timestamp.date(o["status"]?["completionTime"]?.stringValue ?? "") ?? now
                duration = PodPrinter.humanDuration(end.timeIntervalSince(start))
            }
            let status: String = o["metadata"]?["deletionTimestamp"] != nil ? "Terminating" : (state ?? "Running")
            return [name, .string(status), .string(comp), .string(duration), age] + templateCells(o)
        case "Service":
            let ports = (o["spec"]?["ports"]?.arrayValue ?? []).map { p in
                "\(int(p["port"]))/\(p["protocol"]?.stringValue ?? "TCP")"
            }.joined(separator: ",")
            let selector = (o["spec"]?["selector"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
            return [name, .string(o["spec"]?["type"]?.stringValue ?? "ClusterIP"), .string(o["spec"]?["clusterIP"]?.stringValue ?? "<none>"),
                    .string("<none>"), .string(ports.isEmpty ? "<none>" : ports), age, .string(selector.isEmpty ? "<none>" : selector)]
        case "ConfigMap":
            return [name, .int(Int64((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))), age]
        case "Secret":
            return [name, .string(o["type"]?.stringValue ?? "Opaque"), .int(Int64(o["data"]?.objectValue?.count ?? 0)), age]
        default:
            return [name, o["metadata"]?["creationTimestamp"] ?? .null]
        }
    }

    /// Containers, Images, Selector of a workload's pod template (the `-o wide` columns).
    static func templateCells(_ o: JSONValue) -> [JSONValue] {
        let containers = o["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []
        let selector = (o["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
        return [.string(containers.compactMap { $0["name"]?.stringValue }.joined(separator: ",")),
                .string(containers.compactMap { $0["image"]?.stringValue }.joined(separator: ",")),
                .string(selector.isEmpty ? "<none>" : selector)]
    }

    /// A `meta.k8s.io/v1` Table. Each row's object is the item's metadata as a
    /// `PartialObjectMetadata` (kubectl reads namespace and labels from it), or the whole item
    /// with `includeObject=Object`.
    static func table(_ r: APIResource, items: [JSONValue], revision: Int64?, includeObject: String?, withColumns: Bool = true, now: Date = Date()) -> JSONValue {
        let defs: [JSONValue] = withColumns ? columns(r).map { c in
            .object(["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
                     "description": .string(c.description), "priority": .int(Int64(c.priority))])
        } : []
        let rows: [JSONValue] = items.map { item in
            var row: [String: JSONValue] = ["cells": .array(cells(r, item, now: now))]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = item
            default:
                row["object"] = .object(["kind": .string("PartialObjectMetadata"), "apiVersion": .string("meta.k8s.io/v1"),
                                         "metadata": item["metadata"] ?? .object([:])])
            }
            return .object(row)
        }
        var meta: [String: JSONValue] = [:]
        if let revision { meta["resourceVersion"] = .string(String(revision)) }
        return .object(["kind": .string("Table"), "apiVersion": .string("meta.k8s.io/v1"), "metadata": .object(meta),
                        "columnDefinitions": .array(defs), "rows": .array(rows)])
    }
}
