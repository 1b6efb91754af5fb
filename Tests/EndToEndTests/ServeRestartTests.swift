import Foundation
import Testing

/// kubelet-rules scenario 39 (node e2e 33 and 35, KR-1): `tandem serve` killed with -9 and
/// started again on the same root takes its pods over as a restarted kubelet does: nothing that
/// completed runs again, nothing running restarts, no log line is lost, and a container that
/// exited while no Tandem ran is reported with its real exit code and output.
@Suite(.serialized) struct ServeRestartTests {
    /// Host processes whose command line contains `marker` (adopted containers are no longer
    /// below the serve that runs them), without a shell's child caught between its fork and its
    /// exec (it still has the shell's command line, and its parent matches too).
    func processes(_ marker: String) -> [Int32] {
        func matches(_ pid: Int32) -> Bool { commandLine(pid).contains(marker) && !commandLine(pid).contains("__tandem-init") }
        func parent(_ pid: Int32) -> Int32? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 ? Int32(fields[1]) : nil
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter {
            matches($0) && !(parent($0).map(matches) ?? false)
        }
    }

    @Test func aKilledServeAdoptsRunningContainersWithoutRerunningOrLosingLogs() throws {
        let dir = try Tandem.tempDir("tandem-serve-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            apiVersion: v1
            kind: Pod
            metadata:
              name: survivor
            spec:
              terminationGracePeriodSeconds: 5
              initContainers:
              - name: init
                image: busybox
                command: ["sh", "-c", "echo init ran >> /data/runs"]
                volumeMounts: [{name: data, mountPath: /data}]
              - name: sidecar
                image: busybox
                restartPolicy: Always
                command: ["sh", "-c", "M=survivor-sidecar; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
                startupProbe: {exec: {command: ["true"]}, periodSeconds: 1}
              containers:
              - name: app
                image: busybox
                command: ["sh", "-c", "M=survivor-app; trap 'exit 0' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done"]
                readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
                resources: {limits: {memory: 64Mi}}
              volumes:
              - name: data
                hostPath: {path: \(dir)}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: ends-meanwhile
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "M=ends-meanwhile; echo started; sleep 2; echo last words; exit 3"]
            """.write(toFile: dir + "/pods.yaml", atomically: true, encoding: .utf8)

        let first = try ServeRun()
        defer { first.cleanup() }
        #expect(first.ready(), "serve did not start: \(first.stderr)")
        let apply = try first.kubectl(["apply", "-f", dir + "/pods.yaml"])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let ready = try first.kubectl(["wait", "--for=condition=Ready", "pod/survivor", "--timeout=60s"])
        #expect(ready.status == 0, "\(ready.stdout) \(ready.stderr)")
        #expect(waitUntil(10) { processes("M=ends-meanwhile").count == 1 })
        let app = processes("M=survivor-app"), sidecar = processes("M=survivor-sidecar")
        #expect(app.count == 1 && sidecar.count == 1, "app \(app) sidecar \(sidecar)")

        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        // Containers keep running (and writing) while no Tandem runs; `ends-meanwhile` exits.
        #expect(waitUntil(10) { processes("M=ends-meanwhile").isEmpty })
        #expect(processes("M=survivor-app") == app)

        let second = try ServeRun(root: first.root)
        defer { second.cleanup() }
        #expect(second.ready(), "serve did not restart: \(second.stderr)")
        #expect(processes("M=survivor-app") == app, "the app container was restarted")
        #expect(processes("M=survivor-sidecar") == sidecar, "the sidecar was restarted")
        let again = try second.kubectl(["wait", "--for=condition=Ready", "pod/survivor", "--timeout=30s"])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let counts = try second.kubectl(["get", "pod", "survivor", "-o",
                                         "jsonpath={.status.initContainerStatuses[*].restartCount} {.status.containerStatuses[*].restartCount} {.status.initContainerStatuses[0].state.terminated.reason}"])
        let events = (try? second.kubectl(["get", "events", "--field-selector", "involvedObject.name=survivor"]).stdout) ?? ""
        #expect(counts.stdout == "0 0 0 Completed", "\(counts.stdout) \(counts.stderr) events: \(events) second serve: \(second.stderr)")
        #expect((try? String(contentsOfFile: dir + "/runs", encoding: .utf8)) == "init ran\n", "the completed init container ran again")
        // The app's cgroup and its limit survived the new serve's sweep of stale pod cgroups.
        #expect(SeedExampleTests.cgroupFile(app[0], "memory", "memory.limit_in_bytes") == "\(64 << 20)")

        // The container that ended while serve was down: its real exit code and its last line.
        #expect(waitUntil(20) {
            (try? second.kubectl(["get", "pod", "ends-meanwhile", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}"]).stdout) == "Failed 3"
        })
        let ended = try second.kubectl(["logs", "ends-meanwhile"])
        #expect(ended.stdout == "started\nlast words\n", "\(ended.stdout) \(ended.stderr)")

        // Every line the app wrote before, during and after the restart, once and in order.
        var numbers: [Int] = []
        #expect(waitUntil(20) {
            let logs = (try? second.kubectl(["logs", "survivor", "-c", "app"]).stdout) ?? ""
            numbers = logs.split(separator: "\n").compactMap { $0.hasPrefix("line ") ? Int($0.dropFirst(5)) : nil }
            return numbers.count > 100
        })
        #expect(numbers == Array(0..<numbers.count), "lines lost or repeated across the restart: \(numbers.count) lines")

        #expect(second.stop() == 0)
        #expect(processes("M=survivor-").isEmpty, "containers left after serve stopped")
    }
}
