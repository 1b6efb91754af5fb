import Foundation
import Testing

/// `kubectl attach -i` / `-it` and `kubectl run -it` against `tandem serve`: the real kubectl 1.32
/// writing into a container's stdin (`stdin: true`, a pipe the runtime holds open), closing it
/// after the first session (`stdinOnce`), and driving a container that runs on a terminal
/// (`tty: true`).
@Suite(.serialized) struct ServeAttachStdinTests {
    /// `keeps` reads lines for as long as stdin stays open; `once` reads until the first
    /// session's end closes its stdin, then says so and stops; `deaf` has no stdin (it reads
    /// /dev/null: EOF at once) and stops a while later.
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: reader
        spec:
          restartPolicy: Never
          containers:
          - name: keeps
            image: busybox
            stdin: true
            command: ["sh", "-c", "while read l; do echo got $l; done; echo keeps-eof"]
          - name: once
            image: busybox
            stdin: true
            stdinOnce: true
            command: ["sh", "-c", "while read l; do echo once $l; done; echo once-eof"]
          - name: deaf
            image: busybox
            command: ["sh", "-c", "cat; echo deaf-eof; sleep 8; echo deaf-bye"]
        """

    /// kubectl with its stdin fed by `input`: each element is written after a pause, so the
    /// lines arrive while the session is open, as a person types them.
    static func kubectl(_ serve: ServeRun, _ args: [String], typing input: [String], pause: Double = 1.5) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let feed = input.map { "sleep \(pause); printf '%s\\n' '\($0)'" }.joined(separator: "; ")
        let command = "(\(feed); sleep \(pause)) | KUBECONFIG=\(serve.root)/kubeconfig /usr/bin/kubectl --cache-dir \(serve.cacheDir) "
            + args.map { "'\($0)'" }.joined(separator: " ")
        return try Tandem.exec("/bin/sh", ["-c", command])
    }

    @Test func attachWritesTheClientsStdinIntoTheContainersStdin() throws {
        try ServeRun.withReadyPod(Self.pod, named: "reader") { serve, _ in
            // A container without stdin ignores the client's, as containerd's attach does: the
            // session streams its output until it stops.
            let deaf = try Self.kubectl(serve, ["attach", "-i", "reader", "-c", "deaf"], typing: ["ignored"])
            #expect(deaf.status == 0 && deaf.stdout == "deaf-bye\n", "\(deaf)")
            #expect(try serve.kubectl(["logs", "reader", "-c", "deaf"]).stdout == "deaf-eof\ndeaf-bye\n")

            // Without stdinOnce the session ends with the client's stdin (`[255, 0]`), and the
            // container's stdin stays open for the next one.
            let first = try Self.kubectl(serve, ["attach", "-i", "reader", "-c", "keeps"], typing: ["hello"])
            #expect(first.status == 0, "\(first)")
            #expect(first.stdout == "got hello\n", "\(first)")
            #expect(first.stderr.contains("If you don't see a command prompt, try pressing enter."), "\(first.stderr)")
            let second = try Self.kubectl(serve, ["attach", "-i", "reader", "-c", "keeps"], typing: ["again", "more"])
            #expect(second.status == 0 && second.stdout == "got again\ngot more\n", "\(second)")
            let logs = try serve.kubectl(["logs", "reader", "-c", "keeps"])
            #expect(logs.stdout == "got hello\ngot again\ngot more\n", "\(logs)")

            // stdinOnce: the first session's end closes the container's stdin; the attach follows
            // the output until the container stops, then kubectl exits 0.
            let once = try Self.kubectl(serve, ["attach", "-i", "reader", "-c", "once"], typing: ["one"])
            #expect(once.status == 0 && once.stdout == "once one\nonce-eof\n", "\(once)")
            #expect(try serve.kubectl(["get", "pod", "reader", "-o",
                                       "jsonpath={.status.containerStatuses[?(@.name==\"once\")].state.terminated.reason}"]).stdout == "Completed")
        }
    }

    /// kubectl run inside `script` (kubectl -t needs a terminal; `script` gives it one of 40 rows
    /// by 100 columns, which kubectl sends as its resize), its terminal fed by `input`, each
    /// line after a pause.
    static func inTerminal(_ serve: ServeRun, _ kubectlArgs: String, typing input: [String], pause: Double) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let feed = input.map { "sleep \(pause); printf '%s\\n' '\($0)'" }.joined(separator: "; ")
        let command = "stty rows 40 cols 100; KUBECONFIG=\(serve.root)/kubeconfig /usr/bin/kubectl --cache-dir \(serve.cacheDir) \(kubectlArgs)"
        let quoted = command.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "$", with: "\\$")
            .replacingOccurrences(of: "\"", with: "\\\"")
        return try Tandem.exec("/bin/sh", ["-c", "(\(feed); sleep 5) | /usr/bin/script -qec \"\(quoted)\" /dev/null"])
    }

    @Test func attachWithATerminalDrivesAShellOnTheContainersPty() throws {
        let pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: term
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                stdin: true
                tty: true
                command: ["sh"]
            """
        try ServeRun.withReadyPod(pod, named: "term") { serve, _ in
            // Without a terminal of its own kubectl asks for stderr too, which a container's
            // terminal cannot give: the CRI's error, as on a cluster.
            let piped = try serve.kubectl(["attach", "-i", "term"], input: "echo hi\n")
            #expect(piped.status == 1, "\(piped)")
            #expect(piped.stderr.hasSuffix("error: Internal error occurred: unable to upgrade connection: tty and stderr cannot both be true\n"), "\(piped)")
            let r = try Self.inTerminal(serve, "attach -it term",
                                        typing: ["", "tty; stty size; echo marker-$((6*7))", "exit 5"], pause: 1.5)
            #expect(r.status == 0, "\(r)")
            // The shell's prompt (no newline: live output, not log lines), its terminal, the size
            // kubectl sent, and the command's output.
            #expect(r.stdout.contains("# "), "\(r.stdout)")
            #expect(r.stdout.range(of: #"/dev/pts/\d+\r?\n"#, options: .regularExpression) != nil, "\(r.stdout)")
            #expect(r.stdout.contains("40 100"), "\(r.stdout)")
            #expect(r.stdout.contains("marker-42"), "\(r.stdout)")
            #expect(r.stdout.contains("If you don't see a command prompt, try pressing enter."), "\(r.stdout)")
            // The terminal's one stream is the container's log, as stdout.
            let logs = try serve.kubectl(["logs", "term"])
            #expect(logs.stdout.contains("marker-42"), "\(logs)")
            let exit = try serve.kubectl(["get", "pod", "term", "-o", "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}"])
            #expect(exit.stdout == "5", "\(exit)")
        }
    }

    @Test func runInteractiveAttachesPrintsAndDeletesThePod() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        try #require(serve.ready(), "serve did not start: \(serve.stderr)")
        // The line is typed once the pod runs (kubectl waits for it, then attaches).
        let r = try Self.inTerminal(serve, "run -it --rm --restart=Never --image=busybox t -- sh -c 'read l; echo got-$l; exit 3'",
                                    typing: ["world"], pause: 6)
        #expect(r.stdout.contains("got-world"), "\(r)")
        #expect(r.stdout.contains("pod \"t\" deleted"), "\(r)")
        #expect(r.stdout.contains("pod default/t terminated (Error)"), "\(r)")
        #expect(r.status == 3, "\(r)")
        #expect(try serve.kubectl(["get", "pod", "t"]).stderr.contains("not found"))
        // -i without -t: stdin and stdinOnce, so `cat` reads the client's input, then EOF.
        let piped = try serve.kubectl(["run", "-i", "--rm", "--restart=Never", "--image=busybox", "c", "--", "cat"], input: "hello\n")
        #expect(piped.status == 0 && piped.stdout == "hello\npod \"c\" deleted\n", "\(piped)")
    }

    /// KR-1 for stdio: a container's stdin pipe and its terminal outlive a killed serve (the shim
    /// keeps a write end of the pipe and a copy of the pty master), and the next serve adopts
    /// them: nothing restarts, and attach writes on.
    @Test func stdinAndTerminalSurviveAKilledServe() throws {
        let dir = try Tandem.tempDir("tandem-serve-stdio-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            apiVersion: v1
            kind: Pod
            metadata:
              name: kept
            spec:
              containers:
              - name: pipe
                image: busybox
                stdin: true
                command: ["sh", "-c", "while read l; do echo got $l; done; echo pipe-eof"]
              - name: term
                image: busybox
                stdin: true
                tty: true
                command: ["sh"]
            """.write(toFile: dir + "/pod.yaml", atomically: true, encoding: .utf8)
        let first = try ServeRun()
        defer { first.cleanup() }
        try #require(first.ready(), "serve did not start: \(first.stderr)")
        try first.kubectl(["apply", "-f", dir + "/pod.yaml"])
        try #require(try first.kubectl(["wait", "--for=condition=Ready", "pod/kept", "--timeout=60s"]).status == 0)
        let before = try Self.kubectl(first, ["attach", "-i", "kept", "-c", "pipe"], typing: ["before"])
        #expect(before.status == 0 && before.stdout == "got before\n", "\(before)")

        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let second = try ServeRun(root: first.root)
        defer { second.cleanup() }
        try #require(second.ready(), "serve did not restart: \(second.stderr)")
        try #require(try second.kubectl(["wait", "--for=condition=Ready", "pod/kept", "--timeout=30s"]).status == 0)
        let after = try Self.kubectl(second, ["attach", "-i", "kept", "-c", "pipe"], typing: ["after"])
        #expect(after.status == 0 && after.stdout == "got after\n", "\(after)")
        #expect(try second.kubectl(["logs", "kept", "-c", "pipe"]).stdout == "got before\ngot after\n")
        let counts = try second.kubectl(["get", "pod", "kept", "-o", "jsonpath={.status.containerStatuses[*].restartCount}"])
        #expect(counts.stdout == "0 0", "\(counts)")
        // The shell on the adopted terminal (its exit then restarts it: restartPolicy Always).
        let shell = try Self.inTerminal(second, "attach -it kept -c term", typing: ["echo marker-$((6*7))", "exit 0"], pause: 1.5)
        #expect(shell.stdout.contains("marker-42"), "\(shell)")
        // The restarted container has a terminal of its own, fresh.
        #expect(waitUntil(30) {
            (try? second.kubectl(["get", "pod", "kept", "-o", "jsonpath={.status.containerStatuses[1].restartCount} {.status.containerStatuses[1].state.running}"]).stdout)?
                .hasPrefix("1 {") == true
        })
        let again = try Self.inTerminal(second, "attach -it kept -c term", typing: ["echo again-$((1+1))", "exit 0"], pause: 1.5)
        #expect(again.stdout.contains("again-2"), "\(again)")
    }
}
