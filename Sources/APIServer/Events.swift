import APIStore
import Foundation
import KubeAPI
import Synchronization

extension APIResource {
    public static let events = find(kind: "Event")!
    public static let nodes = find(kind: "Node")!
    public static let serviceAccounts = find(kind: "ServiceAccount")!
    public static let leases = find(kind: "Lease")!
}

/// What an event is about (`v1.ObjectReference`): the object, and within a pod the container
/// (`spec.containers{name}`), as the kubelet's `GenerateContainerRef` names it.
public struct EventTarget: Sendable, Hashable {
    public var kind: String
    public var apiVersion: String
    public var namespace: String
    public var name: String
    public var uid: String
    public var fieldPath: String?

    public init(kind: String, apiVersion: String, namespace: String, name: String, uid: String, fieldPath: String? = nil) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.fieldPath = fieldPath
    }

    /// The target for an object as stored (kind and apiVersion from its resource).
    public init(_ r: APIResource, _ object: JSONValue, fieldPath: String? = nil) {
        self.init(kind: r.kind, apiVersion: r.apiVersion, namespace: object["metadata"]?["namespace"]?.stringValue ?? "",
                  name: object["metadata"]?["name"]?.stringValue ?? "", uid: object["metadata"]?["uid"]?.stringValue ?? "", fieldPath: fieldPath)
    }
}

/// client-go's event recorder and `EventCorrelator` for the node and the controllers: each
/// call writes a core/v1 Event, and a repeat of one already written (same source, object,
/// type, reason and message) raises that event's `count` and `lastTimestamp` instead of adding
/// another — what `kubectl describe` shows as `(x4 over 2m)`. The cache of written events lives
/// in memory, as the correlator's LRU does: after a restart repeats start a new event.
public final class EventRecorder: Sendable {
    private let registry: Registry
    private let component: String
    private let host: String
    /// Correlation key → the namespace and name of the event written for it.
    private let written = Mutex<[String: (namespace: String, name: String)]>([:])

    /// - Parameters:
    ///   - component: `source.component` (`kubelet`, `default-scheduler`, `job-controller`, …).
    ///   - host: `source.host`, the node name for the kubelet, empty for controllers.
    public init(registry: Registry, component: String, host: String = "") {
        self.registry = registry
        self.component = component
        self.host = host
    }

    public func normal(_ target: EventTarget, _ reason: String, _ message: String) {
        record(target, type: "Normal", reason: reason, message: message)
    }

    public func warning(_ target: EventTarget, _ reason: String, _ message: String) {
        record(target, type: "Warning", reason: reason, message: message)
    }

    /// Writes the event, or folds it into the one already written for the same key. Best
    /// effort, as the recorder is: an event that cannot be written is dropped.
    public func record(_ target: EventTarget, type: String, reason: String, message: String) {
        let key = [component, host, target.kind, target.namespace, target.name, target.uid, target.apiVersion,
                   target.fieldPath ?? "", type, reason, message].joined(separator: "\u{1}")
        let namespace = target.namespace.isEmpty ? "default" : target.namespace
        let now = Timestamp.string(Date())
        if let existing = written.withLock({ $0[key] }) {
            let updated = try? registry.store.update(registry.key(.events, existing.namespace, existing.name)) { cur in
                let count: Int64 = if case .int(let c)? = cur["count"] { c } else { 1 }
                return cur.setting("count", .int(count + 1)).setting("lastTimestamp", .string(now))
            }
            if updated != nil { return }
        }
        var involved: [String: JSONValue] = ["kind": .string(target.kind), "name": .string(target.name), "uid": .string(target.uid),
                                             "apiVersion": .string(target.apiVersion)]
        if !target.namespace.isEmpty { involved["namespace"] = .string(target.namespace) }
        if let fieldPath = target.fieldPath { involved["fieldPath"] = .string(fieldPath) }
        var source: [String: JSONValue] = ["component": .string(component)]
        if !host.isEmpty { source["host"] = .string(host) }
        // client-go names events `<object>.<UnixNano in hex>`.
        let name = target.name + "." + String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16)
        let event = JSONValue.object([
            "metadata": .object(["name": .string(name), "namespace": .string(namespace)]),
            "involvedObject": .object(involved), "reason": .string(reason), "message": .string(message),
            "source": .object(source), "firstTimestamp": .string(now), "lastTimestamp": .string(now), "count": .int(1),
            "type": .string(type), "eventTime": .null, "reportingComponent": .string(component), "reportingInstance": .string(host),
        ])
        if (try? registry.create(.events, namespace: namespace, body: event)) != nil {
            written.withLock { w in
                // The correlator's cache is an LRU of 4096 keys; forgetting them all at that size
                // only means the next repeat of an old event starts a new one.
                if w.count >= 4096 { w.removeAll() }
                w[key] = (namespace, name)
            }
        }
    }
}

extension Registry {
    /// Admission for kinds whose spec Tandem does not model (ServiceAccount, Node, Lease): the object
    /// is kept as sent once its metadata passes `ValidateObjectMeta`.
    func admitMetadataOnly(_ r: APIResource, _ tree: JSONValue, name: String) throws(APIError) -> JSONValue {
        guard let meta = try? (tree["metadata"] ?? .object([:])).decode(ObjectMeta.self) else {
            throw .badRequest("strict decoding error: metadata: cannot decode")
        }
        let errors = Validation.validateSubdomainNamedMeta(meta, namespaced: r.namespaced)
        if !errors.isEmpty { throw .invalid(r, name, errors) }
        return tree
    }
}

/// The Kubernetes version the API server reports (`/version`), which the node's kubelet reports too.
public enum KubernetesVersion {
    public static var gitVersion: String { Discovery.gitVersion }
}

extension Registry {
    /// The API server's `--event-ttl`: an Event goes `ttl` after its last write (etcd keeps
    /// each event under a lease that every update renews). Runs until cancelled, waking when
    /// the oldest event is due — never later than `ttl` from now, so one written meanwhile is
    /// not missed.
    public func expireEvents(ttl: Duration) async {
        let seconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        while !Task.isCancelled {
            let now = Date()
            var next = now.addingTimeInterval(seconds)
            for event in (try? list(.events, namespace: nil).items) ?? [] {
                let written = Timestamp.date(event["lastTimestamp"]?.stringValue ?? "") ?? Timestamp.date(event["metadata"]?["creationTimestamp"]?.stringValue ?? "") ?? now
                let due = written.addingTimeInterval(seconds)
                if due <= now {
                    if let name = event["metadata"]?["name"]?.stringValue {
                        _ = try? store.delete(key(.events, event["metadata"]?["namespace"]?.stringValue ?? "", name),
                                              precondition: event["metadata"]?["resourceVersion"]?.stringValue)
                    }
                } else {
                    next = min(next, due)
                }
            }
            // Timestamps have whole seconds: wake just after the due second.
            try? await Task.sleep(for: .milliseconds(Int64(max(0, next.timeIntervalSince(Date())) * 1000) + 50))
        }
    }
}
