import Foundation
import Testing

/// `kubectl exec` against `tandem serve`: the real kubectl 1.32 over WebSocket
/// (`v5.channel.k8s.io`), the command inside the container's namespaces.
@Suite(.serialized) struct ServeExecTests {
    /// An init container (done by the time the pod is Ready), two containers (so kubectl has
    /// to pick one), an env var, a working directory on an
    /// emptyDir volume with a file the container wrote, and a PID 1 that stops on SIGTERM.
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: shell
        spec:
          initContainers:
          - name: setup
            image: busybox
            command: ["true"]
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", "echo volume-file > /data/note; trap 'exit 0' TERM; sleep 3600 & wait"]
            env:
            - name: GREETING
              value: hi-from-env
            workingDir: /data
            volumeMounts:
            - name: data
              mountPath: /data
          - name: side
            image: busybox
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
          volumes:
          - name: data
            emptyDir: {}
        """

    /// Runs `body` against a serve with the pod above running, removed afterwards.
    static func withServedPod(_ body: (ServeRun) throws -> Void) throws {
        try ServeRun.withReadyPod(pod, named: "shell") { serve, _ in try body(serve) }
    }

    @Test func execStreamsStdoutStderrAndTheExitCode() throws {
        try Self.withServedPod { serve in
            let r = try serve.kubectl(["exec", "shell", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(r.status == 3, "\(r.stderr)")
            #expect(r.stdout == "out\n")
            #expect(r.stderr == "err\ncommand terminated with exit code 3\n", "\(r.stderr)")

            let ok = try serve.kubectl(["exec", "shell", "-c", "main", "--", "true"])
            #expect(ok.status == 0 && ok.stdout.isEmpty && ok.stderr.isEmpty, "\(ok)")

            // stdin, closed by kubectl's `[255, 0]` when its own input ends, so `cat` ends too.
            let cat = try serve.kubectl(["exec", "-i", "shell", "-c", "main", "--", "cat"], input: "hello\n")
            #expect(cat.status == 0, "\(cat.stderr)")
            #expect(cat.stdout == "hello\n")

            // Larger than one WebSocket frame either way (client-go writes stdin in 32 KiB pieces).
            let big = String(repeating: "0123456789abcdef", count: 16_384)
            let wc = try serve.kubectl(["exec", "-i", "shell", "-c", "main", "--", "sh", "-c", "cat | wc -c; head -c 300000 /dev/zero | wc -c"], input: big)
            #expect(wc.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["262144", "300000"], "\(wc)")
        }
    }

    @Test func execSeesTheContainersHostnameEnvironmentAndVolumes() throws {
        try Self.withServedPod { serve in
            let r = try serve.kubectl(["exec", "shell", "-c", "main", "--", "sh", "-c", "cat /etc/hostname; echo $GREETING; pwd; cat note"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == "shell\nhi-from-env\n/data\nvolume-file\n")
            // The container's PID namespace: its own PID 1, not the host's init.
            let pid1 = try serve.kubectl(["exec", "shell", "-c", "main", "--", "cat", "/proc/1/cmdline"])
            #expect(pid1.stdout.contains("sleep 3600") || pid1.stdout.hasPrefix("sh"), "\(pid1.stdout)")
            // The other container: no GREETING, the image's working directory.
            let side = try serve.kubectl(["exec", "shell", "-c", "side", "--", "sh", "-c", "echo \"[$GREETING]\"; test -e /data/note || echo no-volume"])
            #expect(side.stdout == "[]\nno-volume\n", "\(side)")
            // Without -c kubectl picks the first container itself and says so.
            let picked = try serve.kubectl(["exec", "shell", "--", "sh", "-c", "echo $GREETING"])
            #expect(picked.stdout == "hi-from-env\n", "\(picked)")
            #expect(picked.stderr.contains("Defaulted container \"main\" out of: main, side"), "\(picked.stderr)")
        }
    }

    @Test func execWithATerminalHasAPtyOfTheClientsSize() throws {
        try Self.withServedPod { serve in
            // kubectl -it needs a terminal: `script` gives it one, 40 rows by 100 columns, which
            // kubectl sends as its first resize message.
            let remote = "tty; for i in $(seq 50); do s=$(stty size 2>/dev/null); [ -n \"$s\" ] && [ \"$s\" != \"0 0\" ] && break; sleep 0.1; done; echo size $s"
            let command = "stty rows 40 cols 100; KUBECONFIG=\(serve.root)/kubeconfig /usr/bin/kubectl --cache-dir \(serve.cacheDir) "
                + "exec -it shell -c main -- sh -c '\(remote)'"
            let r = try Tandem.exec("/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.range(of: #"/dev/pts/\d+\r?\n"#, options: .regularExpression) != nil, "\(r.stdout)")
            #expect(r.stdout.contains("size 40 100"), "\(r.stdout)")
        }
    }

    @Test func execIntoWhatDoesNotExistFailsAsOnACluster() throws {
        try Self.withServedPod { serve in
            let pod = try serve.kubectl(["exec", "nope", "--", "true"])
            #expect(pod.status == 1)
            #expect(pod.stderr == "Error from server (NotFound): pods \"nope\" not found\n", "\(pod.stderr)")
            let container = try serve.kubectl(["exec", "shell", "-c", "nope", "--", "true"])
            #expect(container.status == 1)
            #expect(container.stderr.contains("container nope is not valid for pod shell"), "\(container.stderr)")
            // A container of the pod that does not run (the init container is done): the node's
            // error, after the upgrade, as the API server's stream translator passes it on.
            let done = try serve.kubectl(["exec", "shell", "-c", "setup", "--", "true"])
            #expect(done.status == 1)
            #expect(done.stderr == "error: Internal error occurred: unable to upgrade connection: container not found (\"setup\")\n", "\(done.stderr)")
            let binary = try serve.kubectl(["exec", "shell", "-c", "main", "--", "no-such-binary"])
            #expect(binary.status == 1, "\(binary)")
            #expect(binary.stderr.contains("error: Internal error occurred: error executing command in container"), "\(binary.stderr)")
        }
    }

    @Test func aCommandWhoseClientGoesAwayIsKilled() throws {
        try Self.withServedPod { serve in
            // A finished exec leaves nothing behind.
            #expect(try serve.kubectl(["exec", "shell", "-c", "main", "--", "sh", "-c", "sleep 0.3; echo 7431-done"]).stdout == "7431-done\n")
            #expect(serve.containers("7431-done").isEmpty)
            // kubectl killed mid-command: the command and what it started go with the connection.
            let client = try serve.kubectlInBackground(["exec", "shell", "-c", "main", "--", "sh", "-c", "sleep 7432 & sleep 7433"])
            #expect(waitUntil(20) { serve.containers("sleep 7433").count == 1 && serve.containers("sleep 7432").count == 1 })
            kill(client.process.processIdentifier, SIGKILL)
            client.process.waitUntilExit()
            #expect(waitUntil(10) { serve.containers("sleep 743").isEmpty }, "\(serve.containers("sleep 743"))")
        }
    }
}
