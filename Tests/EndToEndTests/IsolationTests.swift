import Foundation
import KubeAPI
import Testing

/// Resources and securityContext enforced by the kernel, through the `tandem` binary: cgroups
/// (memory limit and OOM kill, CFS quota, the kubelet's layout, nothing left behind) and the
/// process's user, groups, capabilities, no_new_privs and read-only root.
struct IsolationTests {
    /// This process's cgroup directory in a v1 hierarchy (tandem, its child, creates its tree below
    /// it), or nil on a cgroup v2 machine.
    static func cgroupDir(_ controller: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[1].split(separator: ",").contains(Substring(controller)) {
                return "/sys/fs/cgroup/\(parts[1])" + (parts[2] == "/" ? "" : String(parts[2]))
            }
        }
        return nil
    }

    /// Every directory below `dir`, recursively.
    static func tree(_ dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        return e.compactMap { $0 as? String }.filter { !$0.contains(".") }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + $0, isDirectory: &isDir) && isDir.boolValue
        }
    }

    @Test func memoryLimitOOMKillsAndCPUQuotaThrottlesThenNothingIsLeft() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: oom}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "cg=$(grep memory /proc/self/cgroup | cut -d: -f3); echo limit=$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes); exec tail /dev/zero"]
            resources:
              limits: {memory: 32Mi}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: cpu}
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command:
            - sh
            - -c
            - |
              cg=$(grep cpuacct /proc/self/cgroup | cut -d: -f3)
              f=/sys/fs/cgroup/cpuacct$cg/cpuacct.usage
              (while :; do :; done) &
              a=$(cat $f); t0=$(cut -d' ' -f1 /proc/uptime)
              sleep 2
              b=$(cat $f); t1=$(cut -d' ' -f1 /proc/uptime)
              kill $!
              echo "usage=$((b - a)) elapsed=$t0-$t1 quota=$(cat /sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us) shares=$(cat /sys/fs/cgroup/cpu$cg/cpu.shares)"
            resources:
              limits: {cpu: 200m, memory: 64Mi}
              requests: {cpu: 100m}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: guaranteed}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "grep -E 'cpu:|memory:' /proc/self/cgroup | cut -d: -f3 | sed 's/^/cgroup=/'"]
            resources:
              limits: {cpu: 100m, memory: 16Mi}
        """
        guard let memoryDir = Self.cgroupDir("memory"), let cpuDir = Self.cgroupDir("cpu") else {
            Issue.record("cgroup v1 hierarchies expected on this machine")
            return
        }
        let r = try Tandem.run(yaml, timeout: "6s", keepRoot: true)
        defer { Tandem.cleanup(r) }

        // A container past its memory limit is killed by the kernel, reported OOMKilled with 137,
        // and restarted (the first restart is immediate, the next one backs off).
        let oom = try #require(r.pod("oom"))
        #expect(oom["status"]?["qosClass"]?.stringValue == "Burstable")
        let status = try #require(oom.containerStatus("c"))
        #expect(status.terminated?["reason"]?.stringValue == "OOMKilled", "\(status)")
        #expect(status.terminated?["exitCode"]?.int == 137)
        #expect((status["restartCount"]?.int ?? 0) >= 1)
        #expect(r.log(pod: "oom", container: "c").contains("limit=33554432"))

        // 200m of CFS quota per 100 ms period: about a fifth of one CPU, however busy the loop.
        let log = r.log(pod: "cpu", container: "c")
        #expect(log.contains("quota=20000 shares=102"), "\(log)")
        let usage = log.split(separator: " ").first { $0.hasPrefix("usage=") }.flatMap { Double($0.dropFirst(6)) }
        let share = (usage ?? 0) / 2e9
        #expect(share > 0.08 && share < 0.35, "CPU share \(share) of one CPU over 2 s: \(log)")

        // Guaranteed pods sit directly under kubepods.
        let g = try #require(r.pod("guaranteed"))
        #expect(g["status"]?["qosClass"]?.stringValue == "Guaranteed")
        let uid = g["metadata"]?["uid"]?.stringValue ?? "?"
        #expect(r.log(pod: "guaranteed", container: "c").contains("cgroup=/kubepods/pod\(uid)/"))

        // Nothing of these pods is left in any hierarchy once tandem has returned.
        let uids = r.pods.compactMap { $0["metadata"]?["uid"]?.stringValue }
        #expect(uids.count == 3)
        for dir in [memoryDir + "/kubepods", cpuDir + "/kubepods"] {
            let left = Self.tree(dir).filter { path in uids.contains { path.contains($0) } }
            #expect(left.isEmpty, "left in \(dir): \(left)")
        }
    }

    @Test func securityContextUserGroupsCapabilitiesAndReadOnlyRoot() throws {
        let host = try Tandem.tempDir("tandem-e2e-isolation")
        defer { try? FileManager.default.removeItem(atPath: host) }
        try "secret\n".write(toFile: host + "/root-only", atomically: true, encoding: .utf8)
        chmod(host + "/root-only", 0o600)
        chmod(host, 0o755)
        let yaml = """
        apiVersion: v1
        kind: Secret
        metadata: {name: token}
        stringData: {key: s3cr3t}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: user}
        spec:
          restartPolicy: Never
          securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000}
          containers:
          - name: c
            image: busybox
            command:
            - sh
            - -c
            - |
              echo "id=$(id -u):$(id -g) groups=$(id -G)"
              echo hi > /data/f && echo "file=$(stat -c '%u:%g' /data/f) dir=$(stat -c '%g %A' /data)"
              cat /host/root-only 2>&1 | sed 's/^/read: /'
              echo "secret=$(cat /secret/key) mode=$(stat -L -c '%a %g' /secret/key)"
              grep CapEff /proc/self/status
              i=0; while [ ! -s /data/hook ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
              echo "hook=$(cat /data/hook)"
            lifecycle:
              postStart:
                exec: {command: ["sh", "-c", "echo $(id -u):$(id -g) $(grep CapEff /proc/self/status | cut -f2) > /data/hook"]}
            volumeMounts:
            - {name: data, mountPath: /data}
            - {name: host, mountPath: /host}
            - {name: secret, mountPath: /secret}
          volumes:
          - {name: data, emptyDir: {}}
          - name: secret
            secret: {secretName: token, defaultMode: 0440}
          - name: host
            hostPath: {path: HOSTDIR, type: Directory}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: caps}
        spec:
          restartPolicy: Never
          containers:
          - name: default
            image: busybox
            command: ["sh", "-c", "grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status"]
          - name: drop-all
            image: busybox
            command: ["sh", "-c", "grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status"]
            securityContext:
              capabilities: {drop: [ALL]}
              allowPrivilegeEscalation: false
          - name: add-admin
            image: busybox
            command: ["sh", "-c", "grep CapEff /proc/self/status"]
            securityContext:
              capabilities: {add: [NET_ADMIN], drop: [KILL]}
          - name: rootfs
            image: busybox
            command: ["sh", "-c", "touch /x 2>&1 | sed 's/^/root-write: /'; echo ok > /scratch/y && echo done"]
            volumeMounts: [{name: scratch, mountPath: /scratch}]
            securityContext: {readOnlyRootFilesystem: true}
          volumes: [{name: scratch, emptyDir: {}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: nonroot}
        spec:
          restartPolicy: Never
          securityContext: {runAsNonRoot: true}
          containers:
          - name: c
            image: busybox
            command: ["true"]
        """
        let r = try Tandem.run(yaml.replacingOccurrences(of: "HOSTDIR", with: host), timeout: "5s", keepRoot: true)
        defer { Tandem.cleanup(r) }

        let user = r.log(pod: "user", container: "c")
        #expect(user.contains("id=1000:3000 groups=3000 2000 4000"), "\(user)")
        #expect(user.contains("file=1000:2000 dir=2000 drwxrwsrwx"), "fsGroup owns the emptyDir, setgid: \(user)")
        #expect(user.contains("read: ") && user.contains("Permission denied"), "\(user)")
        #expect(user.contains("secret=s3cr3t mode=440 2000"), "a 0440 secret is the fsGroup's to read: \(user)")
        #expect(user.contains("CapEff:\t0000000000000000"), "a non-root user keeps no capabilities: \(user)")
        #expect(user.contains("hook=1000:3000 0000000000000000"), "an exec hook runs as the container's user: \(user)")

        let caps = { (name: String) in r.log(pod: "caps", container: name) }
        #expect(caps("default").contains("CapEff:\t00000000a80425fb"), "containerd's default set: \(caps("default"))")
        #expect(caps("default").contains("NoNewPrivs:\t0"))
        #expect(caps("drop-all").contains("CapEff:\t0000000000000000"), "\(caps("drop-all"))")
        #expect(caps("drop-all").contains("NoNewPrivs:\t1"))
        // The bounding set too (narrowed while a created container waits for its start), so
        // nothing the exec of a setuid or file-capability binary grants goes beyond it.
        #expect(caps("default").contains("CapBnd:\t00000000a80425fb"), "\(caps("default"))")
        #expect(caps("drop-all").contains("CapBnd:\t0000000000000000"), "\(caps("drop-all"))")
        // + CAP_NET_ADMIN (bit 12), - CAP_KILL (bit 5).
        #expect(caps("add-admin").contains("CapEff:\t00000000a80435db"), "\(caps("add-admin"))")
        let rootfs = caps("rootfs")
        #expect(rootfs.contains("root-write: ") && rootfs.contains("Read-only file system"), "\(rootfs)")
        #expect(rootfs.contains("done"), "volumes stay writable: \(rootfs)")

        // The kubelet refuses to create it: the waiting reason, and its `Failed` event.
        let uid = r.pod("nonroot")?["metadata"]?["uid"]?.stringValue ?? "?"
        #expect(r.stderr.split(separator: "\n").contains { $0.hasPrefix("nonroot ") && $0.contains("CreateContainerConfigError") }, "\(r.stderr)")
        #expect(r.stderr.contains("nonroot/c: Warning Failed: Error: container has runAsNonRoot and image will run as root (pod: \"nonroot_default(\(uid))\", container: c)"), "\(r.stderr)")
    }

    /// runc's `/dev`: a tmpfs of the container's own with the OCI spec's devices, so nothing a
    /// container makes there (the termination log's mount point among them) lands in the host's
    /// `/dev`, and the host's disks are out of reach; a privileged container gets a node for each
    /// of the host's devices, in a `/dev` of its own too.
    @Test func devIsTheContainersOwnUnlessPrivileged() throws {
        let marker = "tandem-e2e-dev-\(getpid())"
        defer { unlink("/dev/" + marker); unlink("/dev/" + marker + "-priv") }
        let hadTerminationLog = FileManager.default.fileExists(atPath: "/dev/termination-log")
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: devs}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            command:
            - sh
            - -c
            - |
              echo "ls=$(ls /dev | tr '\\n' ' ')"
              echo "null=$(stat -c '%F %t:%T %a' /dev/null) tty=$(stat -c '%t:%T' /dev/tty) fs=$(stat -f -c %T /dev)"
              echo x > /dev/MARKER && echo made
              echo hidden > /dev/null && echo "zero=$(head -c 3 /dev/zero | wc -c | tr -d ' ')"
              test -e /dev/kmsg || echo "no host devices"
              echo bye > /dev/termination-log
          - name: priv
            image: busybox
            command: ["sh", "-c", "test -c /dev/kmsg && echo host devices; echo x > /dev/MARKER-priv; echo priv-fs=$(stat -f -c %T /dev) null=$(stat -c %t:%T /dev/null)"]
            securityContext: {privileged: true}
        """
        let r = try Tandem.run(yaml.replacingOccurrences(of: "MARKER", with: marker), timeout: "5s", keepRoot: true)
        defer { Tandem.cleanup(r) }
        let c = r.log(pod: "devs", container: "c")
        #expect(c.contains("ls=core fd full mqueue null ptmx pts random shm stderr stdin stdout termination-log tty urandom zero "), "\(c)")
        #expect(c.contains("null=character special file 1:3 666 tty=5:0 fs=tmpfs"), "\(c)")
        #expect(c.contains("made") && c.contains("zero=3") && c.contains("no host devices"), "\(c)")
        #expect(!FileManager.default.fileExists(atPath: "/dev/" + marker), "a file made in the container's /dev is not the host's")
        if !hadTerminationLog {
            #expect(!FileManager.default.fileExists(atPath: "/dev/termination-log"), "the termination log's mount point is the container's")
        }
        let status = r.pod("devs")?.containerStatus("c")
        #expect(status?.terminated?["message"]?.stringValue == "bye\n", "\(String(describing: status))")
        let priv = r.log(pod: "devs", container: "priv")
        #expect(priv.contains("host devices") && priv.contains("priv-fs=tmpfs null=1:3"), "containerd's host devices, in a /dev of its own: \(priv)")
        #expect(!FileManager.default.fileExists(atPath: "/dev/" + marker + "-priv"))
    }

    @Test func cgroupsLeftByATandemKilledWithSIGKILLAreRemovedByTheNextOne() throws {
        guard let memoryDir = Self.cgroupDir("memory") else {
            Issue.record("cgroup v1 hierarchies expected on this machine")
            return
        }
        let dir = try Tandem.tempDir("tandem-e2e-kill9")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        apiVersion: v1
        kind: Pod
        metadata: {name: sleeper}
        spec:
          hostNetwork: true
          containers:
          - {name: c, image: busybox, command: ["sleep", "60"]}
        """.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [dir + "/pod.yaml"])
        defer { run.cleanup() }
        #expect(run.wait(for: 20) { run.podRunningAndReady("sleeper") }, "\(run.timeline)")
        let uid = try #require(run.pod("sleeper")?["metadata"]?["uid"]?.stringValue)
        let podDir = memoryDir + "/kubepods/besteffort/pod" + uid
        #expect(FileManager.default.fileExists(atPath: podDir))
        // The container and the pod sandbox (`pause`), each in a cgroup of its own below the pod's.
        let children = Self.tree(podDir)
        let commands = children.map { child in
            ((try? String(contentsOfFile: podDir + "/" + child + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n")
                .map { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        }
        #expect(children.count == 2 && commands.contains(["pause"]) && commands.contains(["sleep"]), "\(children) \(commands)")

        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: podDir), "nobody removed it: tandem died")

        // The next tandem sweeps what no live tandem holds, even while others run beside it.
        let next = try Tandem.run("""
        apiVersion: v1
        kind: Pod
        metadata: {name: quick}
        spec:
          restartPolicy: Never
          hostNetwork: true
          containers:
          - {name: c, image: busybox, command: ["true"]}
        """, timeout: "10s")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: podDir), "\(Self.tree(memoryDir + "/kubepods"))")
    }

    @Test func podsThatDoNotFitTheNodeWaitUnscheduledForTheScheduler() throws {
        // Each of these two asks for 60 % of the machine's CPUs: the second waits for the first.
        let cpu = "\(ProcessInfo.processInfo.activeProcessorCount * 600)m"
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: huge}
        spec:
          containers:
          - name: c
            image: busybox
            command: ["sleep", "60"]
            resources: {requests: {memory: 100Ti}}
        ---
        # Beyond int64, as the API server accepts (its Value() saturates): unschedulable, not a crash.
        apiVersion: v1
        kind: Pod
        metadata: {name: beyond}
        spec:
          containers:
          - {name: a, image: busybox, command: ["sleep", "60"], resources: {requests: {memory: 5Ei, cpu: 1m}, limits: {cpu: "1e16"}}}
          - {name: b, image: busybox, command: ["sleep", "60"], resources: {requests: {memory: 5Ei, cpu: 1m}, limits: {cpu: "1e16"}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: half-a}
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: busybox, command: ["sleep", "1"], resources: {requests: {cpu: \(cpu)}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: half-b}
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: busybox, command: ["sleep", "1"], resources: {requests: {cpu: \(cpu)}}}
        """
        let r = try Tandem.run(yaml, timeout: "8s")
        let message = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        let huge = try #require(r.pod("huge"))
        #expect(huge["status"]?["phase"]?.stringValue == "Pending")
        let scheduled = huge["status"]?["conditions"]?.array.first { $0["type"]?.stringValue == "PodScheduled" }
        #expect(scheduled?["status"]?.stringValue == "False")
        #expect(scheduled?["reason"]?.stringValue == "Unschedulable")
        #expect(scheduled?["message"]?.stringValue == message)
        #expect(r.stderr.contains("huge: Warning FailedScheduling: \(message)"), "\(r.stderr)")
        #expect(r.pod("beyond")?["status"]?["phase"]?.stringValue == "Pending")
        #expect(r.stderr.contains("beyond: Warning FailedScheduling: \(message)"), "\(r.stderr)")

        let a = try #require(r.pod("half-a")), b = try #require(r.pod("half-b"))
        #expect(a["status"]?["phase"]?.stringValue == "Succeeded")
        #expect(b["status"]?["phase"]?.stringValue == "Succeeded")
        #expect(r.stderr.contains("Warning FailedScheduling: 0/1 nodes are available: 1 Insufficient cpu."), "\(r.stderr)")
        let times = [a, b].map { ($0["status"]?["startTime"]?.stringValue ?? "", $0.containerStatus("c")?.terminated?["finishedAt"]?.stringValue ?? "") }
        let (first, second) = times[0].0 <= times[1].0 ? (times[0], times[1]) : (times[1], times[0])
        #expect(second.0 >= first.1, "the second starts once the first has finished: \(times)")
    }
}
