import Foundation
import KubeAPI
import PodLifecycle
import Testing
@testable import APIServer

/// Pod cells computed from the stored JSON (`Tables.podCells`) against the typed path: decode
/// the pod into `Pod` and print it with `PodPrinter.row`, as the Table did before.
@Suite struct PodTableTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static func at(_ secondsAgo: Double) -> String { Timestamp.string(now.addingTimeInterval(-secondsAgo)) }

    /// The cells as the Table computed them from a decoded `Pod`.
    func typedCells(_ o: JSONValue) throws -> [JSONValue] {
        let pod = try o.decode(Pod.self)
        let row = PodPrinter.row(pod, now: Self.now)
        var status = row.status
        if pod.metadata.deletionTimestamp != nil, !["Succeeded", "Failed"].contains(pod.status?.phase ?? "") { status = "Terminating" }
        let gates = pod.spec.readinessGates ?? []
        return [row.name, row.ready, status, row.restarts, row.age, pod.status?.podIP ?? "<none>", pod.spec.nodeName ?? "<none>", "<none>",
                gates.isEmpty ? "<none>" : "\(gates.count)"].map(JSONValue.string)
    }

    func pod(meta: String = "", spec: String = #""containers":[{"name":"app","image":"busybox"}]"#, status: String? = nil) throws -> JSONValue {
        let status = status.map { #","status":{\#($0)}"# } ?? ""
        return try JSONValue(parsing: #"{"metadata":{"name":"p","namespace":"default","creationTimestamp":"\#(Self.at(3725))"\#(meta)},"spec":{\#(spec)}\#(status)}"#)
    }

    static let running = #"{"running":{"startedAt":"\#(at(600))"}}"#
    static let sidecarSpec = #""initContainers":[{"name":"init","image":"busybox"},{"name":"side","image":"busybox","restartPolicy":"Always"}],"containers":[{"name":"app","image":"busybox"},{"name":"second","image":"busybox"}],"nodeName":"n1","readinessGates":[{"conditionType":"x/y"}]"#

    func shapes() throws -> [(String, JSONValue, [String])] {
        [
            ("new, no status", try pod(), ["p", "0/1", "Pending", "0", "62m", "<none>", "<none>", "<none>", "<none>"]),
            ("init container running", try pod(spec: Self.sidecarSpec, status: #"""
                "phase":"Pending","podIP":"10.0.0.5","conditions":[{"type":"Initialized","status":"False"}],
                "initContainerStatuses":[{"name":"init","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":\#(Self.running)},
                  {"name":"side","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":{"waiting":{"reason":"PodInitializing"}}}],
                "containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":{"waiting":{"reason":"PodInitializing"}}}]
                """#), ["p", "0/3", "Init:0/2", "0", "62m", "10.0.0.5", "n1", "<none>", "1"]),
            ("sidecar running, restarted", try pod(spec: Self.sidecarSpec, status: #"""
                "phase":"Running","conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"}],
                "initContainerStatuses":[{"name":"init","ready":true,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
                  {"name":"side","ready":true,"started":true,"restartCount":2,"image":"busybox","imageID":"","state":\#(Self.running),
                   "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"\#(Self.at(300))"}}}],
                "containerStatuses":[{"name":"app","ready":true,"restartCount":1,"image":"busybox","imageID":"","state":\#(Self.running),
                   "lastState":{"terminated":{"exitCode":137,"finishedAt":"\#(Self.at(90))"}}},
                  {"name":"second","ready":true,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":\#(Self.running)}]
                """#), ["p", "3/3", "Running", "3 (90s ago)", "62m", "<none>", "n1", "<none>", "1"]),
            ("init container failed", try pod(spec: Self.sidecarSpec, status: #"""
                "phase":"Pending","initContainerStatuses":[{"name":"init","ready":false,"restartCount":4,"image":"busybox","imageID":"",
                  "state":{"terminated":{"exitCode":1,"reason":"Error"}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"\#(Self.at(7300))"}}}]
                """#), ["p", "0/3", "Init:Error", "4 (121m ago)", "62m", "<none>", "n1", "<none>", "1"]),
            ("CrashLoopBackOff", try pod(status: #"""
                "phase":"Running","containerStatuses":[{"name":"app","ready":false,"restartCount":5,"image":"busybox","imageID":"",
                  "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 2m40s"}},
                  "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"\#(Self.at(45))"}}}]
                """#), ["p", "0/1", "CrashLoopBackOff", "5 (45s ago)", "62m", "<none>", "<none>", "<none>", "<none>"]),
            ("killed by a signal", try pod(status: #"""
                "phase":"Failed","containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},
                  "state":{"terminated":{"exitCode":137,"signal":9}}}]
                """#), ["p", "0/1", "Signal:9", "0", "62m", "<none>", "<none>", "<none>", "<none>"]),
            ("Completed", try pod(status: #"""
                "phase":"Succeeded","reason":"","containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},
                  "state":{"terminated":{"exitCode":0,"reason":"Completed","finishedAt":"\#(Self.at(10))"}}}]
                """#), ["p", "0/1", "Completed", "0", "62m", "<none>", "<none>", "<none>", "<none>"]),
            ("Terminating", try pod(meta: #","deletionTimestamp":"\#(Self.at(5))""#, status: #"""
                "phase":"Running","reason":"NodeLost","containerStatuses":[{"name":"app","ready":true,"restartCount":0,"image":"busybox","imageID":"","lastState":{},"state":\#(Self.running)}]
                """#), ["p", "1/1", "Terminating", "0", "62m", "<none>", "<none>", "<none>", "<none>"]),
            ("Completed while being deleted", try pod(meta: #","deletionTimestamp":"\#(Self.at(5))""#, status: #"""
                "phase":"Succeeded","containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"busybox","imageID":"","lastState":{},
                  "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]
                """#), ["p", "0/1", "Completed", "0", "62m", "<none>", "<none>", "<none>", "<none>"]),
        ]
    }

    @Test func cellsFromJSONAreTheTypedPathsCells() throws {
        for (shape, o, expected) in try shapes() {
            let cells = Tables.cells(.pods, o, now: Self.now)
            #expect(cells == expected.map(JSONValue.string), "\(shape)")
            #expect(cells == (try typedCells(o)), "\(shape)")
        }
    }

    @Test func agesAndTextReadFastAsBefore() {
        // The server's layout is read at fixed offsets; others still by the general rule.
        #expect(Timestamp.date("2024-02-29T23:59:58Z") == Date(timeIntervalSince1970: 1_709_251_198))
        #expect(Timestamp.date("2024-02-29T23:59:58.123456Z") == Date(timeIntervalSince1970: 1_709_251_198))
        #expect(Timestamp.date("2024-02-29T23:59:5xZ") == nil)
        // Strings with nothing to escape are copied whole; the rest escaped as before.
        #expect(JSONValue.string("web-5d8f9 ü").compactJSON() == #""web-5d8f9 ü""#)
        #expect(JSONValue.string("a<b\"c\n\u{1}").compactJSON() == #""a\u003cb\"c\n\u0001""#)
    }

    @Test func aTableRowCarriesTheMetadataAsPartialObjectMetadata() throws {
        let o = try pod(meta: #","labels":{"app":"web"}"#)
        let table = Tables.table(.pods, items: [o], revision: 7, includeObject: nil, now: Self.now)
        let row = try #require(table["rows"]?.arrayValue?.first)
        #expect(row["object"] == .object(["kind": .string("PartialObjectMetadata"), "apiVersion": .string("meta.k8s.io/v1"),
                                          "metadata": try #require(o["metadata"])]))
        #expect(table["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"])
    }
}
