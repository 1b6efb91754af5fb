import Foundation
import KubeAPI
import Testing

/// The seed documents' Pod manifests, unchanged, through the `tandem` binary, checking what the
/// seeds say happens.
@Suite(.serialized) struct SeedExampleTests {
    var seeds: String { Tandem.seeds }

    @Test func initAndSidecarAppSeesInitFile() throws {
        let run = try BackgroundRun(files: ["\(seeds)/init-and-sidecar.yaml"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("init-and-sidecar") }, "pod never Running and Ready")
        // The nginx container (the app) sees /config/init.txt in its own mount namespace.
        let nginx = processes(containing: "nginx: master process").filter {
            (try? String(contentsOfFile: "/proc/\($0)/root/config/init.txt", encoding: .utf8)) == "Setup complete\n"
        }
        #expect(nginx.count == 1)
        #expect(!FileManager.default.fileExists(atPath: "/config/init.txt"), "the volume must not appear on the host")
        #expect(run.wait { run.log(pod: "init-and-sidecar", container: "sidecar-monitor").contains("Monitoring...") })
        let r = run.stop()
        #expect(r.status == 0, "\(r.stderr.suffix(300))")
        let pod = try #require(r.pod("init-and-sidecar"))
        #expect(pod.containerStatus("setup")?.terminated?["reason"]?.stringValue == "Completed")
        #expect(pod.containerStatus("app")?["restartCount"]?.int == 0)
    }

    @Test func logForwarderPrintsAccessLogOfRealRequest() throws {
        let run = try BackgroundRun(files: ["\(seeds)/nginx-log-forwarder.yaml"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("nginx-log-forwarder") })
        let ip = try #require(run.pod("nginx-log-forwarder")?["status"]?["podIP"]?.stringValue)
        // The forwarder polls for access.log every 2 s; send requests until one is processed.
        let processed = run.wait(for: 30) {
            _ = httpGet(ip, path: "/tandem-e2e-probe")
            return run.log(pod: "nginx-log-forwarder", container: "log-forwarder").contains("GET /tandem-e2e-probe HTTP/1.1")
        }
        #expect(processed)
        // The seed's limits are the kernel's, and its readOnly mount is read-only.
        let mine = descendants(of: run.process.processIdentifier)
        let forwarder = try #require(mine.first { commandLine($0).contains("Starting log forwarder") })
        #expect(Self.cgroupFile(forwarder, "memory", "memory.limit_in_bytes") == "\(64 << 20)")
        #expect(Self.cgroupFile(forwarder, "cpu", "cpu.cfs_quota_us") == "10000")
        let nginx = try #require(mine.first { commandLine($0).contains("nginx: master process") })
        #expect(Self.cgroupFile(nginx, "memory", "memory.limit_in_bytes") == "\(128 << 20)")
        #expect(!FileManager.default.createFile(atPath: "/proc/\(forwarder)/root/logs/tandem-e2e-write", contents: Data("x".utf8)),
                "the readOnly mount took a write")
        let log = run.log(pod: "nginx-log-forwarder", container: "log-forwarder")
        #expect(log.contains("Starting log forwarder..."))
        #expect(log.contains("stdout F [PROCESSED] "))
        let r = run.stop()
        #expect(r.status == 0)
        #expect(r.pod("nginx-log-forwarder")?.containerStatus("nginx")?["restartCount"]?.int == 0)
    }

    /// A cgroup v1 controller file of the cgroup `pid` is in (`/proc/PID/cgroup`).
    static func cgroupFile(_ pid: Int32, _ controller: String, _ file: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2)
            guard parts.count == 3, parts[1].split(separator: ",").contains(Substring(controller)) else { continue }
            return (try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)\(parts[2])/\(file)", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }

    @Test func twoNginxPodsEachOnPort80() throws {
        let run = try BackgroundRun(files: ["\(seeds)/sidecar-demo.yaml", "\(seeds)/nginx-log-forwarder.yaml"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("sidecar-demo") && run.podRunningAndReady("nginx-log-forwarder") })
        let a = try #require(run.pod("sidecar-demo")?["status"]?["podIP"]?.stringValue)
        let b = try #require(run.pod("nginx-log-forwarder")?["status"]?["podIP"]?.stringValue)
        #expect(a != b)
        #expect(httpGet(a)?.contains("Welcome to nginx!") == true)
        #expect(httpGet(b)?.contains("Welcome to nginx!") == true)
        // sidecar-demo's log-processor tails the access log of that request.
        #expect(run.wait { run.log(pod: "sidecar-demo", container: "log-processor").contains("GET / HTTP/1.1") })
        let r = run.stop()
        #expect(r.status == 0)
        #expect(r.pods.count == 2)
        // `tail -f` exits when access.log does not exist yet; on a cluster nginx has created it by
        // the time the CRI starts the next container, and so it must have on Tandem.
        #expect(r.pod("sidecar-demo")?.containerStatus("log-processor")?["restartCount"]?.int == 0)
    }

    /// The Job example's pod spec as a bare Pod: it Succeeds, its `tail -F` sidecar is stopped
    /// after the main container (SIGKILL after the grace period: tail is PID 1 and ignores SIGTERM).
    @Test func jobPodSpecAsBarePod() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: job-pod
        spec:
          terminationGracePeriodSeconds: 3
          containers:
            - name: job
              image: busybox
              command: ["sh", "-c", "echo $(date) Job is running successfully, logging the status >> /var/log/job-status.log"]
              volumeMounts:
                - mountPath: /var/log
                  name: varlog
          initContainers:
            - name: sidecar
              image: busybox
              command: ["sh","-c","tail -F /var/log/job-status.log"]
              restartPolicy: Always
              volumeMounts:
                - mountPath: /var/log
                  name: varlog
          restartPolicy: Never
          volumes:
            - name: varlog
              emptyDir: {}
        """
        let r = try Tandem.run(yaml, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let pod = try #require(r.pod("job-pod"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded")
        let job = try #require(pod.containerStatus("job")?.terminated)
        let sidecar = try #require(pod.containerStatus("sidecar")?.terminated)
        #expect(job["exitCode"]?.int == 0 && job["reason"]?.stringValue == "Completed")
        #expect(sidecar["exitCode"]?.int == 137 && sidecar["reason"]?.stringValue == "Error")
        #expect((sidecar["finishedAt"]?.stringValue ?? "") >= (job["finishedAt"]?.stringValue ?? "~"))
        #expect(r.log(pod: "job-pod", container: "sidecar").contains("Job is running successfully"))
        #expect(r.stdout.contains("\"kind\": \"List\""))
    }

    @Test func deploymentPodSpecAsBarePod() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: deploy-pod
          labels:
            app: sidecar
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app-container
              image: busybox
              command: ["sh","-c","while true; do echo $(date) Writing the logs >> /var/log/app.log; sleep 1; done "]
              volumeMounts:
                - mountPath: /var/log
                  name: varlog
          initContainers:
            - name: sidecar
              image: busybox
              command: ["sh","-c", "tail -F /var/log/app.log"]
              restartPolicy: Always
              volumeMounts:
                - mountPath: /var/log
                  name: varlog
          volumes:
            - name: varlog
              emptyDir: {}
        """
        let r = try Tandem.run(yaml, timeout: "4s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "stopped while Running and Ready: \(r.stderr)")
        #expect(r.log(pod: "deploy-pod", container: "sidecar").contains("Writing the logs"))
        #expect(r.pod("deploy-pod")?.containerStatus("app-container")?["restartCount"]?.int == 0)
    }
}

/// Nothing outlives tandem, and nothing a container writes is lost.
@Suite(.serialized) struct ProcessLifetimeTests {
    @Test func killNineLeavesNoOrphan() throws {
        let marker = "tandem-orphan-check-\(UUID().uuidString.prefix(8))"
        let dir = try Tandem.tempDir("tandem-orphan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: orphan-check}
        spec:
          initContainers:
          - {name: sc, image: busybox, restartPolicy: Always, command: ["sh", "-c", "sleep 1000 & sleep 1001; echo \(marker)"]}
          containers:
          - {name: main, image: busybox, command: ["sh", "-c", "(sleep 1002 &); while true; do sleep 1; done; echo \(marker)"]}
        """
        try yaml.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/pod.yaml"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("orphan-check") })
        #expect(processes(containing: marker).count >= 2, "containers are running")
        // This run's own sleeps (other tandems on the machine may run sleeps of their own).
        let sleeps = descendants(of: run.process.processIdentifier).filter(isContainerSleep)
        #expect(sleeps.count == 3, "the three background sleeps run: \(sleeps)")
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        #expect(run.wait(for: 5) { processes(containing: marker).isEmpty }, "left behind: \(processes(containing: marker))")
        #expect(run.wait(for: 5) { sleeps.allSatisfy { !FileManager.default.fileExists(atPath: "/proc/\($0)") } },
                "sleeps left behind: \(sleeps.filter { FileManager.default.fileExists(atPath: "/proc/\($0)") })")
        // A later tandem cleans up the network namespace the killed one left.
        let r = try Tandem.run("apiVersion: v1\nkind: Pod\nmetadata: {name: after}\nspec:\n  containers: [{name: c, image: busybox, command: [\"true\"]}]\n",
                               args: [], timeout: "20s")
        #expect(r.status == 0)
    }

    private func isContainerSleep(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let cmd = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return cmd.hasPrefix("sleep 1000") || cmd.hasPrefix("sleep 1001") || cmd.hasPrefix("sleep 1002")
    }

    @Test func lastLineWithoutNewlineIsKept() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: last-line}
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: busybox, command: ["sh", "-c", "seq 1 20000; echo to-stderr >&2; printf 'the last words'"]}
        """
        let r = try Tandem.run(yaml, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0)
        let log = r.log(pod: "last-line", container: "c")
        let lines = log.split(separator: "\n")
        #expect(lines.filter { $0.contains(" stdout F ") }.count == 20001)
        #expect(lines.last?.hasSuffix("stdout F the last words") == true)
        #expect(log.contains(" stderr F to-stderr"))
        #expect(lines.first?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F 1$"#, options: .regularExpression) != nil)
    }
}
