import Foundation
import KubeAPI
import Testing

/// Volumes, environment, probes, hooks and the image catalog, each through the `tandem` binary.
/// The containers print what they see; the test reads their CRI logs.
@Suite(.serialized) struct PodFeatureTests {
    @Test func volumesConfigMapSecretDownwardAPIProjectedSubPathReadOnly() throws {
        let yaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app-config}
        data: {greeting: hello, mode: fast}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: app-secret}
        data: {password: c2VjcmV0}
        stringData: {user: admin}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: volumes
          labels: {app: volumes, tier: test}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c"]
            args:
            - |
              echo "cm=$(cat /etc/cfg/greeting) items=$(cat /etc/items/renamed)"
              echo "secret=$(cat /etc/secret/password) user=$(cat /etc/secret/user)"
              echo "secret-mode=$(stat -c %a /etc/secret/..data/password)"
              echo "data-link=$(readlink /etc/cfg/..data | cut -c1-3)"
              echo "labels=$(cat /etc/podinfo/labels | tr '\\n' ' ')"
              echo "podname=$(cat /etc/podinfo/name)"
              echo "projected=$(cat /etc/all/greeting)/$(cat /etc/all/password)/$(cat /etc/all/ns)"
              echo "subpath=$(cat /data/sub/file 2>&1)"
              echo "shm=$(grep ' /cache ' /proc/mounts | cut -d' ' -f3)"
              touch /ro/x 2>&1 | sed 's/^/ro-write: /'
              echo written > /data/sub/file2
            volumeMounts:
            - {name: cfg, mountPath: /etc/cfg}
            - {name: items, mountPath: /etc/items}
            - {name: secret, mountPath: /etc/secret}
            - {name: podinfo, mountPath: /etc/podinfo}
            - {name: all, mountPath: /etc/all}
            - {name: data, mountPath: /data}
            - {name: cache, mountPath: /cache}
            - {name: ro, mountPath: /ro, readOnly: true}
          volumes:
          - name: cfg
            configMap: {name: app-config}
          - name: items
            configMap: {name: app-config, items: [{key: mode, path: renamed}]}
          - name: secret
            secret: {secretName: app-secret, defaultMode: 0400}
          - name: podinfo
            downwardAPI:
              items:
              - {path: labels, fieldRef: {fieldPath: metadata.labels}}
              - {path: name, fieldRef: {fieldPath: metadata.name}}
          - name: all
            projected:
              sources:
              - configMap: {name: app-config}
              - secret: {name: app-secret}
              - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
          - name: data
            hostPath: {path: HOSTDIR, type: Directory}
          - name: cache
            emptyDir: {medium: Memory}
          - name: ro
            emptyDir: {}
        """
        let host = try Tandem.tempDir("tandem-e2e-hostpath")
        defer { try? FileManager.default.removeItem(atPath: host) }
        try FileManager.default.createDirectory(atPath: host + "/sub", withIntermediateDirectories: true)
        try "from host\n".write(toFile: host + "/sub/file", atomically: true, encoding: .utf8)
        let manifest = yaml.replacingOccurrences(of: "HOSTDIR", with: host)
        let r = try Tandem.run(manifest, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let log = r.log(pod: "volumes", container: "c")
        #expect(log.contains("cm=hello items=fast"))
        #expect(log.contains("secret=secret user=admin"))
        #expect(log.contains("secret-mode=400"))
        #expect(log.contains("data-link=..2"), "AtomicWriter's timestamped ..data directory")
        #expect(log.contains("labels=app=\"volumes\" tier=\"test\""))
        #expect(log.contains("podname=volumes"))
        #expect(log.contains("projected=hello/secret/default"))
        #expect(log.contains("subpath=from host"))
        #expect(log.contains("shm=tmpfs"))
        #expect(log.contains("ro-write: touch: /ro/x: Read-only file system"))
        #expect((try? String(contentsOfFile: host + "/sub/file2", encoding: .utf8)) == "written\n")
        #expect(!FileManager.default.fileExists(atPath: "/etc/cfg/greeting"), "volumes appear only inside the container")
    }

    @Test func environmentAndCommandExpansion() throws {
        let yaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: env-config}
        data: {LEVEL: debug, COLOR: blue}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: env-secret}
        stringData: {TOKEN: t0k3n}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: env
          labels: {app: env}
          annotations: {note: hi}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            workingDir: /tmp/work
            command: ["sh", "-c", "echo args=$0 $1; echo pwd=$(pwd); env | sort | grep -E '^(GREETING|NAME|POD_|NODE|LEVEL|CFG_|TOKEN|MEM|APP|NOTE|HOSTNAME)'", "$(GREETING)", "$$(GREETING)"]
            resources:
              limits: {memory: 64Mi}
            envFrom:
            - prefix: CFG_
              configMapRef: {name: env-config}
            env:
            - {name: NAME, value: world}
            - {name: GREETING, value: "hello-$(NAME)"}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
            - name: POD_IP
              valueFrom: {fieldRef: {fieldPath: status.podIP}}
            - name: APP
              valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
            - name: NOTE
              valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}
            - name: LEVEL
              valueFrom: {configMapKeyRef: {name: env-config, key: LEVEL}}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: env-secret, key: TOKEN}}
            - name: MEM
              valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
        """
        let r = try Tandem.run(yaml, keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let log = r.log(pod: "env", container: "c")
        #expect(log.contains("args=hello-world $(GREETING)"))
        #expect(log.contains("pwd=/tmp/work"))
        for line in ["GREETING=hello-world", "POD_NAME=env", "POD_NAMESPACE=default", "APP=env", "NOTE=hi", "LEVEL=debug",
                     "CFG_COLOR=blue", "CFG_LEVEL=debug", "TOKEN=t0k3n", "MEM=64", "HOSTNAME=env"] {
            #expect(log.contains(" \(line)\n"), "\(line) in \(log)")
        }
        #expect(log.range(of: #"POD_IP=10\.88\.\d+\.\d+"#, options: .regularExpression) != nil)
    }

    @Test func httpTCPAndExecProbesGateReadiness() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: probes}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
          - name: web
            image: nginx
            ports: [{name: http, containerPort: 80}]
            readinessProbe:
              httpGet: {path: /, port: http}
              periodSeconds: 1
            livenessProbe:
              tcpSocket: {port: 80}
              periodSeconds: 1
          - name: exec
            image: busybox
            command: ["sh", "-c", "sleep 2; touch /tmp/ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
            readinessProbe:
              exec: {command: ["cat", "/tmp/ready"]}
              periodSeconds: 1
          - name: broken
            image: busybox
            command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
            readinessProbe:
              httpGet: {path: /, port: 8080}
              periodSeconds: 1
        """
        let r = try Tandem.run(yaml, timeout: "6s")
        let pod = try #require(r.pod("probes"))
        // `-o json` shows the final state after the graceful stop; the timeline shows readiness.
        #expect(r.stderr.contains("2/3"), "web and exec became ready, broken never: \(r.stderr)")
        #expect(!r.stderr.contains("3/3"))
        #expect(r.stderr.contains("Warning Unhealthy: Readiness probe failed"))
        #expect(pod.containerStatus("web")?["restartCount"]?.int == 0, "tcp liveness passed")
    }

    @Test func livenessFailureRestartsWithBackOffUnderAlways() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: liveness}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
            livenessProbe:
              exec: {command: ["false"]}
              periodSeconds: 1
              failureThreshold: 2
        """
        let r = try Tandem.run(yaml, timeout: "6s")
        let pod = try #require(r.pod("liveness"))
        #expect((pod.containerStatus("c")?["restartCount"]?.int ?? 0) >= 1)
        #expect(pod.containerStatus("c")?["lastState"]?["terminated"]?["exitCode"]?.int == 0)
        #expect(r.stderr.contains("Warning Unhealthy: Liveness probe failed"))
    }

    @Test func hooksExecHTTPAndSleep() throws {
        let dir = try Tandem.tempDir("tandem-hooks")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: hooks}
        spec:
          terminationGracePeriodSeconds: 10
          volumes: [{name: out, hostPath: {path: \(dir)}}]
          containers:
          - name: web
            image: nginx
            volumeMounts: [{name: out, mountPath: /out}]
            lifecycle:
              postStart: {exec: {command: ["sh", "-c", "echo poststart > /out/poststart"]}}
              preStop: {httpGet: {path: /prestop-hook, port: 80}}
          - name: sleeper
            image: busybox
            command: ["sh", "-c", "trap 'echo term-after-sleep > /out/sleeper; exit 0' TERM; while true; do sleep 0.2; done"]
            volumeMounts: [{name: out, mountPath: /out}]
            lifecycle:
              preStop: {sleep: {seconds: 1}}
        """
        let start = Date()
        let r = try Tandem.run(yaml, timeout: "2s")
        #expect(Date().timeIntervalSince(start) < 10)
        #expect((try? String(contentsOfFile: dir + "/poststart", encoding: .utf8)) == "poststart\n")
        #expect((try? String(contentsOfFile: dir + "/sleeper", encoding: .utf8)) == "term-after-sleep\n")
        let pod = try #require(r.pod("hooks"))
        #expect(pod.containerStatus("sleeper")?.terminated?["exitCode"]?.int == 0)
        #expect(pod.containerStatus("web")?.terminated?["exitCode"]?.int == 0)
    }

    @Test func failingPostStartKillsContainer() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: poststart-fail}
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.2; done"]
            lifecycle:
              postStart: {exec: {command: ["sh", "-c", "exit 7"]}}
        """
        let r = try Tandem.run(yaml, timeout: "20s")
        #expect(r.status == 1)
        let pod = try #require(r.pod("poststart-fail"))
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
        #expect(pod.containerStatus("c")?.terminated?["exitCode"]?.int == 3)
        // The event leaves the hook's output out, as `startContainer` does.
        #expect(r.stderr.contains("FailedPostStartHook: PostStartHook failed"), "\(r.stderr)")
    }

    /// `makeMounts` and `makeEnvironmentVariables` as the kubelet does them: a subPath that a
    /// symlink in the volume leads out of it is refused; `subPathExpr` expands the container's
    /// variables; configMap volumes are read-only whatever the mount says; `$(VAR)` sees only the
    /// kubelet's own variables (not the image's `PATH`, not `HOSTNAME`); `resourceFieldRef`
    /// divides integers (1001m over 1m is 1001) and an unset request is 0.
    @Test func subPathsReadOnlyVolumesAndTheKubeletsExpansion() throws {
        let yaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
        data: {k: v}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: vols}
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          volumes:
          - {name: wd, emptyDir: {}}
          - {name: cm, configMap: {name: cm}}
          initContainers:
          - name: plant
            image: busybox
            command: ["sh", "-c", "ln -s /etc /w/esc && mkdir -p /w/vols/logs && echo inside > /w/vols/logs/f && echo PLANT_CPU=$CPU"]
            env: [{name: CPU, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}]
            volumeMounts: [{name: wd, mountPath: /w}]
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "echo SEEN=$SEEN; echo CPU=$CPU_REQ/$CPU_LIM; cat /logs/f; touch /cm/new; echo done"]
            resources: {requests: {cpu: 1001m}, limits: {cpu: 2002m}}
            env:
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: SEEN, value: "$(HOSTNAME)-$(PATH)-$(POD_NAME)"}
            - {name: CPU_REQ, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
            - {name: CPU_LIM, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
            volumeMounts:
            - {name: wd, mountPath: /logs, subPathExpr: "$(POD_NAME)/logs"}
            - {name: cm, mountPath: /cm}
          - name: escape
            image: busybox
            command: ["ls", "/e"]
            volumeMounts: [{name: wd, mountPath: /e, subPath: esc}]
        """
        let r = try Tandem.run(yaml, timeout: "8s")
        #expect(r.stderr.contains("vols/plant | PLANT_CPU=0"), "\(r.stderr)")
        #expect(r.stderr.contains("vols/c | SEEN=$(HOSTNAME)-$(PATH)-vols"), "\(r.stderr)")
        #expect(r.stderr.contains("vols/c | CPU=1001/2002"), "\(r.stderr)")
        #expect(r.stderr.contains("vols/c | inside"), "\(r.stderr)")
        #expect(r.stderr.contains("Read-only file system"), "\(r.stderr)")
        #expect(!r.stderr.contains("vols/escape | "), "the host's /etc must not be listed: \(r.stderr)")
        #expect(r.stderr.contains(#"vols/escape: Warning Failed: Error: failed to prepare subPath for volumeMount "wd" of container "escape""#))
    }

    /// `worker.run` probes on a ticker: a probe that takes half its period does not stretch the
    /// period. A named port the container does not have makes the probe error, and `doProbe`
    /// throws the result away: an `Unhealthy` event, no restart.
    @Test func probesTickEveryPeriodAndAnUnknownPortIsAnErrorNotAFailure() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: ticks}
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: c1
            image: busybox
            command: ["sleep", "6"]
            readinessProbe:
              exec: {command: ["sh", "-c", "echo probe > /proc/1/fd/1; sleep 0.5"]}
              periodSeconds: 1
              timeoutSeconds: 3
          - name: c2
            image: busybox
            command: ["sleep", "6"]
            ports: [{name: web, containerPort: 8080}]
            livenessProbe:
              httpGet: {path: /, port: nosuch}
              periodSeconds: 1
              failureThreshold: 1
        """
        let r = try Tandem.run(yaml, timeout: "30s")
        let probes = r.stderr.components(separatedBy: "ticks/c1 | probe").count - 1
        #expect(probes >= 5, "a 0.5 s probe every 1 s for 6 s, not every 1.5 s: \(probes)\n\(r.stderr)")
        let pod = try #require(r.pod("ticks"))
        #expect(pod["status"]?["phase"]?.stringValue == "Succeeded", "\(r.stderr)")
        #expect(pod.containerStatus("c2")?["restartCount"]?.int == 0)
        #expect(r.stderr.contains(#"Liveness probe errored and resulted in unknown state: strconv.Atoi: parsing "nosuch": invalid syntax"#), "\(r.stderr)")
    }

    /// A volume that cannot be set up is the volume manager's `FailedMount`, and no sandbox is made
    /// before every volume is mounted; the pod waits in `ContainerCreating`.
    @Test func aVolumeThatCannotBeMountedIsFailedMount() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: nomount}
        spec:
          restartPolicy: Never
          volumes: [{name: cfg, configMap: {name: absent}}]
          containers:
          - {name: c, image: busybox, command: ["true"], volumeMounts: [{name: cfg, mountPath: /cfg}]}
        """
        let r = try Tandem.run(yaml, timeout: "3s")
        #expect(r.stderr.contains(#"nomount: Warning FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "absent" not found"#), "\(r.stderr)")
        #expect(!r.stderr.contains("FailedCreatePodSandBox"), "\(r.stderr)")
        #expect(r.pod("nomount")?["status"]?["phase"]?.stringValue == "Failed", "a pod stopped at the timeout before it ran")
    }

    @Test func userImageFileMapsImageToHostCommand() throws {
        let dir = try Tandem.tempDir("tandem-images")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "#!/bin/sh\necho \"myapp $MYAPP_MODE $*\"\n".write(toFile: dir + "/myapp.sh", atomically: true, encoding: .utf8)
        chmod(dir + "/myapp.sh", 0o755)
        try """
        myapp:dev:
          command: ["\(dir)/myapp.sh"]
          args: ["--default"]
          env: {MYAPP_MODE: dev}
        """.write(toFile: dir + "/images.yaml", atomically: true, encoding: .utf8)
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: myapp}
        spec:
          restartPolicy: Never
          containers:
          - {name: app, image: "myapp:dev", args: ["--flag"]}
        """
        let r = try Tandem.run(yaml, args: ["--images", dir + "/images.yaml"], keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.log(pod: "myapp", container: "app").contains("stdout F myapp dev --flag"))
    }

    @Test func yamlOutputAndStdinInput() throws {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: from-stdin}\nspec:\n  restartPolicy: Never\n  containers: [{name: c, image: busybox, command: [\"true\"]}]\n"
        let r = try Tandem.run("", args: ["-o", "yaml"], output: false, stdin: yaml)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("apiVersion: v1\nitems:\n"))
        #expect(r.stdout.contains("phase: Succeeded"))
        #expect(r.stdout.contains("kind: List"))
        #expect(r.stderr.contains("from-stdin"), "the timeline goes to stderr with -o")
    }

    @Test func sigintStopsPodsGracefully() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: interrupted}
        spec:
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo up; while true; do sleep 0.2; done"]
        """
        let r = try Tandem.run(yaml, timeout: "60s", signal: (SIGINT, 3), keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "stopped while Running and Ready")
        #expect(r.log(pod: "interrupted", container: "c").contains("stdout F got TERM"))
        #expect(r.pod("interrupted")?.containerStatus("c")?.terminated?["exitCode"]?.int == 0)
        #expect(r.stderr.contains("Terminating"))
    }
}

/// The gRPC probe against a real gRPC server (Python's grpcio from Debian), speaking
/// `grpc.health.v1.Health/Check`.
@Suite(.serialized) struct GRPCProbeTests {
    static let server = """
    import sys, grpc
    from concurrent import futures
    status = sys.argv[1]
    def check(request, context):
        return b"\\x08\\x01" if status == "SERVING" else b"\\x08\\x02"
    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(check, request_deserializer=None, response_serializer=None)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("0.0.0.0:9090")
    server.start()
    print("serving", status, flush=True)
    server.wait_for_termination()
    """

    @Test(arguments: [("SERVING", true), ("NOT_SERVING", false)])
    func grpcHealthProbe(status: String, ready: Bool) throws {
        let dir = try Tandem.tempDir("tandem-grpc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.server.write(toFile: dir + "/health.py", atomically: true, encoding: .utf8)
        try "grpc-health:test:\n  command: [\"/usr/bin/python3\", \"\(dir)/health.py\"]\n".write(toFile: dir + "/images.yaml", atomically: true, encoding: .utf8)
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: grpc}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
          - name: server
            image: grpc-health:test
            args: ["\(status)"]
            readinessProbe:
              grpc: {port: 9090}
              periodSeconds: 1
        """
        let r = try Tandem.run(yaml, args: ["--images", dir + "/images.yaml"], timeout: "5s")
        #expect(r.stderr.contains("grpc   1/1") == ready, "\(r.stderr)")
        if !ready { #expect(r.stderr.contains("NOT_SERVING")) }
    }
}

@Suite struct ActiveDeadlineTests {
    @Test func podPastActiveDeadlineFailsWithDeadlineExceeded() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: deadline}
        spec:
          activeDeadlineSeconds: 2
          terminationGracePeriodSeconds: 1
          containers:
          - {name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]}
        """
        let start = Date()
        let r = try Tandem.run(yaml, timeout: "30s")
        #expect(Date().timeIntervalSince(start) < 8)
        #expect(r.status == 1)
        let pod = try #require(r.pod("deadline"))
        #expect(pod["status"]?["phase"]?.stringValue == "Failed")
        #expect(pod["status"]?["reason"]?.stringValue == "DeadlineExceeded")
        #expect(pod["status"]?["message"]?.stringValue == "Pod was active on the node longer than the specified deadline")
        #expect(r.stderr.contains("DeadlineExceeded"))
    }

    /// `getTerminationMessage`: the last 4 KiB of the file; with `FallbackToLogsOnError` and a
    /// non-zero exit the file still wins, and only an empty one gives way to the log's last lines
    /// (at most 80 of them, and of those the last 2 KiB); after exit 0 the log is never read.
    @Test func terminationMessagesFromTheFileAndFallingBackToTheLog() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: messages}
        spec:
          restartPolicy: Never
          containers:
          - name: long-file
            image: busybox
            command: ["sh", "-c", "i=0; while [ $i -lt 500 ]; do echo line$i-xxxxxxxx >> /dev/termination-log; i=$((i+1)); done"]
          - name: file-wins
            image: busybox
            terminationMessagePolicy: FallbackToLogsOnError
            command: ["sh", "-c", "echo fromlog; echo fromfile > /dev/termination-log; exit 2"]
          - name: from-logs
            image: busybox
            terminationMessagePolicy: FallbackToLogsOnError
            command: ["sh", "-c", "i=0; while [ $i -lt 100 ]; do echo l$i; i=$((i+1)); done; echo last >&2; exit 4"]
          - name: clean-exit
            image: busybox
            terminationMessagePolicy: FallbackToLogsOnError
            command: ["sh", "-c", "echo not a message"]
        """
        let r = try Tandem.run(yaml, timeout: "30s")
        let pod = try #require(r.pod("messages"))
        func message(_ name: String) -> String? { pod.containerStatus(name)?.terminated?["message"]?.stringValue }
        let long = try #require(message("long-file"))
        #expect(long.utf8.count == 4096)
        #expect(long.hasSuffix("line499-xxxxxxxx\n"))
        #expect(!long.contains("line0-"))
        #expect(message("file-wins") == "fromfile\n")
        #expect(message("from-logs") == (21..<100).map { "l\($0)\n" }.joined() + "last\n")
        #expect(message("clean-exit") == nil)
    }
}

/// Ctrl-C in a terminal signals the whole foreground process group, not just tandem: the
/// containers must still get the kubelet's orderly SIGTERM, never the terminal's SIGINT.
@Suite struct TerminalInterruptTests {
    @Test func ctrlCToTheProcessGroupStopsPodsGracefully() throws {
        let dir = try Tandem.tempDir("tandem-ctrlc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        apiVersion: v1
        kind: Pod
        metadata: {name: ctrlc}
        spec:
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; trap 'echo got INT; exit 9' INT; echo up; while true; do sleep 0.2; done"]
        """.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        let root = dir + "/root"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        // setsid forks when its caller leads a group; -w waits for tandem and returns its status.
        p.arguments = ["-w", Tandem.binary, "run", "--root", root, "-o", "json", "--timeout", "60s", dir + "/pod.yaml"]
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = FileHandle.nullDevice
        try p.run()
        let r = Tandem.Result(status: 0, stdout: "", stderr: "", root: root, items: [])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !r.log(pod: "ctrlc", container: "c").contains("stdout F up") { usleep(100_000) }
        // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group. Tandem
        // leads its own session here, so its group is its pid.
        let tandem = try #require(processes(containing: "run --root \(root)").first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix(Tandem.binary) ?? false
        })
        let group = getpgid(tandem)
        try #require(group == tandem, "tandem leads its own process group")
        kill(-group, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let log = r.log(pod: "ctrlc", container: "c")
        #expect(log.contains("stdout F got TERM"), "\(log)")
        #expect(!log.contains("got INT"))
    }
}
