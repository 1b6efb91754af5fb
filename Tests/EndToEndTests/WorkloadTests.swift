import Foundation
import KubeAPI
import Testing

/// The workload seeds (a Job, a Deployment and two CronJobs with sidecars), unchanged, through the
/// `tandem` binary: what the controllers and the kubelet do with them, and what a user does to
/// them from outside (killing a container's process, deleting a pod).
@Suite(.serialized) struct WorkloadTests {
    func seed(_ name: String) throws -> String {
        let path = "\(Tandem.seeds)/\(name)"
        try #require(FileManager.default.fileExists(atPath: path), "no seed at \(path)")
        return path
    }

    func seedText(_ name: String) throws -> String { try String(contentsOfFile: try seed(name), encoding: .utf8) }

    /// The Job's pod runs `job` to completion; its native sidecar (`tail -F`, PID 1, which ignores
    /// SIGTERM) started before it and is stopped after it, SIGKILLed at the end of the 30 s grace.
    @Test(.timeLimit(.minutes(2))) func jobWithNativeSidecarCompletes() throws {
        let r = try Tandem.run(try seedText("job-sidecar-job-demo.yaml"), timeout: "100s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        let (name, main, sidecar) = try completedJob(r, pod: "sidecar-job-demo-", main: "job")
        #expect(sidecar["exitCode"]?.int == 137, "tail ignores SIGTERM as PID 1")
        #expect(time(sidecar, "startedAt") <= time(main, "startedAt"), "the sidecar starts first")
        #expect(time(sidecar, "finishedAt") >= time(main, "finishedAt"), "the sidecar is stopped after the job")
        #expect(r.log(pod: name, container: "sidecar").contains("Job is running successfully, logging the status"))
    }

    /// One pod, `2/2` counting the native sidecar; the app killed from outside is restarted by the
    /// kubelet (RESTARTS 1); the pod deleted with `tandem delete pod` is replaced by the ReplicaSet.
    @Test(.timeLimit(.minutes(3))) func deploymentRestartsKilledAppAndReplacesDeletedPod() throws {
        let run = try BackgroundRun(files: [try seed("deployment-sidecar-demo.yaml")], args: ["--timeout", "120s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("sidecar-demo-") }, "\(run.timeline.suffix(800))")
        let first = try #require(run.pod("sidecar-demo-")?["metadata"]?["name"]?.stringValue)
        #expect(run.wait { rows(run.timeline, pod: first).contains { $0[1] == "2/2" && $0[2] == "Running" && $0[3] == "0" } },
                "\(run.timeline.suffix(800))")

        // Kill the app container's shell from outside, as an OOM kill or `kill -9` on the node would.
        let apps = appShells(of: run)
        #expect(apps.count == 1, "\(apps.map(commandLine))")
        for pid in apps { kill(pid, SIGKILL) }
        let restarted = run.wait {
            run.pods()[first]?.containerStatus("app-container")?["restartCount"]?.int == 1 && run.podRunningAndReady(first)
        }
        #expect(restarted, "\(run.timeline.suffix(800))")
        let app = run.pods()[first]?.containerStatus("app-container")
        #expect(app?["lastState"]?["terminated"]?["exitCode"]?.int == 137)
        #expect(app?["lastState"]?["terminated"]?["reason"]?.stringValue == "Error")
        #expect(run.pods()[first]?.containerStatus("sidecar")?["restartCount"]?.int == 0)
        #expect(run.wait { rows(run.timeline, pod: first).contains { $0[1] == "2/2" && $0[2] == "Running" && $0[3].hasPrefix("1 (") } },
                "\(run.timeline.suffix(800))")
        let newApps = appShells(of: run)
        #expect(newApps.count == 1 && Set(newApps).isDisjoint(with: apps), "a new process, not the killed one")

        // `kubectl delete pod`: an unknown name is NotFound; the pod goes gracefully and a new one replaces it.
        let missing = try Tandem.exec(Tandem.binary, ["delete", "pod", "no-such-pod", "--root", run.root])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("Error from server (NotFound): pods \"no-such-pod\" not found"))
        let del = try Tandem.exec(Tandem.binary, ["delete", "pod", first, "--root", run.root, "--grace-period", "2"])
        #expect(del.status == 0, "\(del.stderr)")
        #expect(del.stdout == "pod \"\(first)\" deleted\n")
        #expect(Set(appShells(of: run)).isDisjoint(with: newApps), "the deleted pod's containers are gone when delete returns")
        #expect(rows(run.timeline, pod: first).contains { $0[1] == "2/2" && $0[2] == "Terminating" }, "\(run.timeline.suffix(800))")
        var replacement: String?
        #expect(run.wait {
            replacement = run.pods().keys.first { $0 != first && $0.hasPrefix("sidecar-demo-") }
            return replacement.map(run.podRunningAndReady) ?? false
        }, "\(run.timeline.suffix(800))")
        let old = run.pods()[first]
        #expect(old?["metadata"]?["deletionTimestamp"] != nil)
        #expect(old?["metadata"]?["ownerReferences"] == run.pods()[replacement ?? ""]?["metadata"]?["ownerReferences"], "same ReplicaSet")

        let r = run.stop(SIGTERM)
        #expect(r.status == 0, "\(r.stderr.suffix(800))")
        #expect(r.pods.compactMap { $0["metadata"]?["name"]?.stringValue } == [replacement].compactMap { $0 })
        #expect(r.kind("ReplicaSet").count == 1)
        let deployment = try #require(r.kind("Deployment").first)
        #expect(deployment["status"]?["replicas"]?.int == 1)
        #expect(deployment["status"]?["readyReplicas"]?.int == 1)
    }

    /// Seed 002's classic approach: the sidecar is a plain container and 5 s slow, so the app's
    /// only request fails at once. The pod stays Running while the sidecar runs (as on a cluster,
    /// a pod is Failed only when all its containers have ended); deleting it makes it Failed, and
    /// with `backoffLimit: 0` the Job Failed.
    @Test(.timeLimit(.minutes(2))) func classicCronJobLosesTheRace() throws {
        let run = try BackgroundRun(files: [try seed("sidecar-classic-cronjob.yaml")],
                                    args: ["--trigger", "cronjob/sidecar-classic", "--timeout", "90s"])
        defer { run.cleanup() }
        let prefix = "sidecar-classic-manual-"
        let appFailed = run.wait {
            guard let p = run.pod(prefix) else { return false }
            return p.containerStatus("app")?["state"]?["terminated"]?["exitCode"]?.int == 1
                && p.containerStatus("sidecar")?["state"]?["running"] != nil
        }
        #expect(appFailed, "\(run.timeline.suffix(800))")
        let pod = try #require(run.pod(prefix))
        let name = try #require(pod["metadata"]?["name"]?.stringValue)
        #expect(pod.containerStatus("app")?["state"]?["terminated"]?["reason"]?.stringValue == "Error")
        #expect(run.log(pod: name, container: "app").contains("wget: can't connect to remote host"))
        // The sidecar does come up, too late: what the app would have got.
        let ip = try #require(pod["status"]?["podIP"]?.stringValue)
        #expect(run.wait(for: 20) { httpGet(ip, port: 8081) == "hello\n" })
        #expect(run.pod(prefix)?["status"]?["phase"]?.stringValue == "Running")
        #expect(run.process.isRunning, "the Job has not ended while its pod runs")

        let del = try Tandem.exec(Tandem.binary, ["delete", "pod", name, "--root", run.root, "--grace-period", "1"])
        #expect(del.status == 0, "\(del.stderr)")
        #expect(run.wait(for: 30) { !run.process.isRunning }, "tandem returns once the triggered Job has ended")
        let r = run.stop()
        #expect(r.status == 1)
        let job = try #require(r.kind("Job").first)
        #expect(condition(job, "Failed") == "True")
        #expect(job["status"]?["conditions"]?.array.contains { $0["reason"]?.stringValue == "BackoffLimitExceeded" } == true)
        #expect(job["status"]?["failed"]?.int == 1)
        let final = try #require(run.pods()[name])
        #expect(final["status"]?["phase"]?.stringValue == "Failed")
        let sidecar = try #require(final.containerStatus("sidecar")?["state"]?["terminated"])
        #expect(sidecar["exitCode"]?.int == 137, "httpd ignores SIGTERM as PID 1: killed at the end of the grace")
        let app = try #require(final.containerStatus("app")?["state"]?["terminated"])
        #expect(time(sidecar, "finishedAt") >= time(app, "finishedAt"))
    }

    /// Seed 002's native sidecar: the startupProbe holds the app back until the sidecar listens,
    /// the app's request succeeds, the Job completes and the kubelet then stops the sidecar (exit
    /// 137, reason Error, as the seed shows).
    @Test(.timeLimit(.minutes(2))) func nativeCronJobStartupProbeGatesTheApp() throws {
        let r = try Tandem.run(try seedText("sidecar-native-cronjob.yaml"), args: ["--trigger", "cronjob/sidecar-native"],
                               timeout: "100s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        let (name, app, sidecar) = try completedJob(r, pod: "sidecar-native-manual-", main: "app")
        #expect(sidecar["exitCode"]?.int == 137)
        #expect(sidecar["reason"]?.stringValue == "Error")
        #expect(time(app, "startedAt") >= time(sidecar, "startedAt") + 4, "the app waits for the sidecar's startupProbe")
        #expect(time(sidecar, "finishedAt") >= time(app, "finishedAt"))
        #expect(r.stderr.contains("Startup probe failed"))
        // `wget -q -T 2 -O-` from the app's shell: the body, not a crash.
        #expect(r.log(pod: name, container: "app").contains("stdout F hello"))
    }

    /// The API server takes completions below parallelism; the Job controller then runs no more
    /// pods than completions remain.
    @Test(.timeLimit(.minutes(1))) func parallelismAboveCompletionsRunsOnePod() throws {
        let yaml = """
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: par
            spec:
              completions: 1
              parallelism: 3
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - name: a
                    image: busybox
                    command: ["sh", "-c", "sleep 1"]
            """
        let r = try Tandem.run(yaml, timeout: "30s")
        #expect(r.status == 0, "\(r.stderr.suffix(500))")
        #expect(r.pods.count == 1)
        #expect(r.kind("Job").first.map { condition($0, "Complete") } == "True")
    }

    /// `tandem delete` without a run, or for another kind: a clear error, nothing done.
    @Test func deleteRefusals() throws {
        let root = try Tandem.tempDir("tandem-e2e-root")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let none = try Tandem.exec(Tandem.binary, ["delete", "pod", "x", "--root", root])
        #expect(none.status == 1)
        #expect(none.stderr.contains("error: no `tandem run` is running with --root \(root)"))
        let kind = try Tandem.exec(Tandem.binary, ["delete", "deployment", "x", "--root", root])
        #expect(kind.status == 2)
        #expect(kind.stderr.contains("error: the server doesn't have a resource type \"deployment\""))
        let noName = try Tandem.exec(Tandem.binary, ["delete", "pod", "--root", root])
        #expect(noName.status == 2)
        #expect(Tandem.contents(of: root).isEmpty, "nothing written")
    }

    // MARK: helpers

    /// Checks a run of one Job with a sidecar that ended well: exit 0, the Job Complete with one
    /// success, its pod Succeeded, `main` exited 0 (Completed). Returns the pod's name and the
    /// terminated states of `main` and of the `sidecar` container.
    func completedJob(_ r: Tandem.Result, pod prefix: String, main: String) throws -> (String, JSONValue, JSONValue) {
        #expect(r.status == 0, "\(r.stderr.suffix(800))")
        let job = try #require(r.kind("Job").first)
        #expect(condition(job, "Complete") == "True")
        #expect(job["status"]?["succeeded"]?.int == 1)
        let pod = try #require(r.pod(prefix))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        let mainState = try #require(pod.containerStatus(main)?["state"]?["terminated"])
        #expect(mainState["exitCode"]?.int == 0)
        #expect(mainState["reason"]?.stringValue == "Completed")
        let sidecar = try #require(pod.containerStatus("sidecar")?["state"]?["terminated"])
        return (try #require(pod["metadata"]?["name"]?.stringValue), mainState, sidecar)
    }

    /// The app container's shell in the Deployment seed: the `sh -c while …` whose parent is not
    /// one too (`$(date)` forks short-lived copies of it).
    func appShells(of run: BackgroundRun) -> [Int32] {
        let shells = Set(descendants(of: run.process.processIdentifier).filter {
            commandLine($0).hasPrefix("sh -c while true; do echo $(date) Writing the logs >> /var/log/app.log")
        })
        return shells.filter { !shells.contains(parentPID($0) ?? 0) }.sorted()
    }
}

/// The `status` of a condition of an object ("True", "False"), nil when it has none.
func condition(_ object: JSONValue, _ type: String) -> String? {
    object["status"]?["conditions"]?.array.first { $0["type"]?.stringValue == type }?["status"]?.stringValue
}

/// A timestamp field as seconds since 1970 (RFC 3339, second resolution as the API has it).
func time(_ object: JSONValue, _ field: String) -> TimeInterval {
    let f = ISO8601DateFormatter()
    return object[field]?.stringValue.flatMap { f.date(from: $0)?.timeIntervalSince1970 } ?? .nan
}

/// The `kubectl get pods -w` rows of one pod in a timeline: NAME READY STATUS RESTARTS AGE, the
/// columns apart by at least 3 spaces (RESTARTS may read `1 (4s ago)`).
func rows(_ timeline: String, pod: String) -> [[String]] {
    timeline.split(separator: "\n").map { $0.split(separator: /\s{2,}/).map(String.init) }
        .filter { $0.count == 5 && $0[0] == pod }
}
