import Foundation
import Testing

/// `kubectl drain` and `uncordon` against `tandem serve`: the `pods/eviction` subresource, a
/// PodDisruptionBudget whose status the disruption controller keeps, the 429 a budget with no
/// disruption left gives, and the Deployment's replacement pods held `Pending` while the node
/// is cordoned.
@Suite(.serialized) struct ServeEvictionTests {
    static let node = ProcessInfo.processInfo.hostName

    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web}
        spec:
          minAvailable: 2
          selector: {matchLabels: {app: web}}

        """

    @Test func drainRespectsTheBudgetEvictsAndUncordonRunsThePodsAgain() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        let node = Self.node
        let applied = try serve.kubectl(["apply", "-f", "-"], input: Self.deployment)
        #expect(applied.stdout == "deployment.apps/web created\npoddisruptionbudget.policy/web created\n", "\(applied.stdout) \(applied.stderr)")
        #expect(try serve.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"]).status == 0)
        func budget() -> String {
            (try? serve.kubectl(["get", "pdb", "web", "-o",
                                 "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.expectedPods}/{.status.disruptionsAllowed}"]).stdout) ?? ""
        }
        #expect(waitUntil(10) { budget() == "2/2/2/0" }, "\(budget())")
        let table = try serve.kubectl(["get", "pdb"])
        #expect(table.stdout.range(of: #"^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nweb\s+2\s+N/A\s+0\s+\S+\n$"#,
                                   options: .regularExpression) != nil, "\(table.stdout)")

        // kubectl create pdb (a protobuf body) and the API server's validation.
        let created = try serve.kubectl(["create", "pdb", "other", "--selector=app=other", "--max-unavailable=50%"])
        #expect(created.stdout == "poddisruptionbudget.policy/other created\n", "\(created.stdout) \(created.stderr)")
        #expect(try serve.kubectl(["get", "pdb", "other", "-o", "jsonpath={.spec.maxUnavailable}"]).stdout == "50%")
        let invalid = try serve.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "bad"},
             "spec": {"minAvailable": -1, "selector": {"matchLabels": {"app": "web"}}}}
            """)
        #expect(invalid.stderr.contains(#"The PodDisruptionBudget "bad" is invalid: spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"#),
                "\(invalid.stderr)")

        // A pod without a controller: kubectl refuses to drain without --force (client side).
        #expect(try serve.kubectl(["run", "bare", "--image=busybox", "--", "sleep", "3600"]).status == 0)
        #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/bare", "--timeout=60s"]).status == 0)
        let refused = try serve.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("cannot delete Pods that declare no controller (use --force to override): default/bare"), "\(refused.stderr)")
        #expect(try serve.kubectl(["delete", "pod", "bare", "--grace-period=0", "--force"]).status == 0)

        // The budget allows no disruption: every eviction is refused with 429 until the timeout.
        let blocked = try serve.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=7s"])
        #expect(blocked.status != 0)
        #expect(blocked.stdout.contains("node/\(node) already cordoned") || blocked.stdout.contains("node/\(node) cordoned"), "\(blocked.stdout)")
        #expect(blocked.stderr.contains("Cannot evict pod as it would violate the pod's disruption budget."), "\(blocked.stderr)")
        let running = try serve.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}"])
        #expect(running.stdout == "Running Running", "\(running.stdout)")

        // The eviction of a pod that does not exist is 404; the 429 carries the budget's cause.
        let missing = try serve.kubectl(["create", "--raw", "/api/v1/namespaces/default/pods/nope/eviction", "-f", "-"],
                                        input: #"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"nope"}}"#)
        #expect(missing.stderr.contains(#"pods "nope" not found"#), "\(missing.stderr)")
        let pod = try serve.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"]).stdout
        let tooMany = try serve.kubectl(["create", "--raw", "/api/v1/namespaces/default/pods/\(pod)/eviction", "-v=8", "-f", "-"],
                                        input: #"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"\#(pod)"}}"#)
        #expect(tooMany.stderr.contains("Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget."),
                "\(tooMany.stderr.suffix(600))")
        // kubectl -v=8 shows the Status it got (indented).
        let status = tooMany.stderr.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: ": ", with: ":")
            .replacingOccurrences(of: "  ", with: "").replacingOccurrences(of: ", ", with: ",")
        #expect(status.contains(#""reason":"DisruptionBudget","message":"The disruption budget web needs 2 healthy pods and has 2 currently""#),
                "\(tooMany.stderr.suffix(600))")

        // A budget that allows both: drain evicts them, waits for them to go, and the
        // Deployment's replacements stay Pending on the cordoned node.
        #expect(try serve.kubectl(["patch", "pdb", "web", "--type=merge", "-p", #"{"spec":{"minAvailable":0}}"#]).status == 0)
        #expect(waitUntil(10) { budget() == "2/0/2/2" }, "\(budget())")
        let drained = try serve.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"])
        #expect(drained.status == 0, "\(drained.stdout) \(drained.stderr)")
        let output = drained.stdout + drained.stderr
        for line in ["node/\(node) already cordoned", "evicting pod default/web-", "node/\(node) drained"] {
            #expect(output.contains(line), "\(line) not in: \(output)")
        }
        #expect(output.components(separatedBy: "evicted\n").count - 1 == 2, "\(output)")
        #expect(output.contains("pod/\(pod) evicted\n"), "\(output)")
        func phases() -> String {
            (try? serve.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}|{.items[*].spec.nodeName}"]).stdout) ?? ""
        }
        #expect(waitUntil(10) { phases() == "Pending Pending|" }, "\(phases())")

        let uncordoned = try serve.kubectl(["uncordon", node])
        #expect(uncordoned.stdout == "node/\(node) uncordoned\n", "\(uncordoned.stdout) \(uncordoned.stderr)")
        #expect(waitUntil(30) { phases() == "Running Running|\(node) \(node)" }, "\(phases())")
        #expect(waitUntil(10) { budget() == "2/0/2/2" }, "\(budget())")
        #expect(serve.stop() == 0)
    }
}
