import Foundation
import Testing

/// `kubectl attach` (output only) against `tandem serve`: the real kubectl 1.32 over WebSocket
/// (`v5.channel.k8s.io`), the running container's output from the moment of attach.
@Suite(.serialized) struct ServeAttachTests {
    /// A line on stdout every 0.2 s, and every fifth on stderr too; it stops after a minute.
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: ticker
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo out-$i; [ $((i % 5)) = 0 ] && echo err-$i >&2; i=$((i+1)); sleep 0.2; done"]
        """

    @Test func attachStreamsNewOutputUntilTheClientLeaves() throws {
        try ServeRun.withReadyPod(Self.pod, named: "ticker") { serve, dir in
            // Let some output go by first: attach must not replay it.
            Thread.sleep(forTimeInterval: 1.5)
            let attach = try serve.kubectlInBackground(["attach", "ticker"], keepStderr: true)
            defer {
                if attach.process.isRunning { kill(attach.process.processIdentifier, SIGKILL) }
                attach.process.waitUntilExit()
            }
            let out = { (try? String(contentsOfFile: attach.out, encoding: .utf8)) ?? "" }
            let err = { (try? String(contentsOfFile: attach.out + ".err", encoding: .utf8)) ?? "" }
            #expect(waitUntil(20) { out().split(separator: "\n").count >= 6 && err().contains("err-") }, "\(out()) \(err())")
            let numbers = out().split(separator: "\n").compactMap { Int($0.dropFirst(4)) }
            // Consecutive lines from the moment of attach on, not from the container's start.
            #expect(numbers.count >= 6 && numbers.first! > 0, "\(out())")
            #expect(numbers == Array(numbers.first!..<(numbers.first! + numbers.count)), "\(out())")
            #expect(out().split(separator: "\n").allSatisfy { $0.hasPrefix("out-") }, "\(out())")
            kill(attach.process.processIdentifier, SIGINT)
            attach.process.waitUntilExit()
            // Interrupted as on any cluster: kubectl attach does not catch SIGINT.
            #expect(attach.process.terminationReason == .uncaughtSignal && attach.process.terminationStatus == SIGINT, "\(err())")
            // A container that stops ends the attach: the last output, then `Success`, exit 0.
            let short = Self.pod.replacingOccurrences(of: "name: ticker", with: "name: short")
                .replacingOccurrences(of: #"["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo out-$i; [ $((i % 5)) = 0 ] && echo err-$i >&2; i=$((i+1)); sleep 0.2; done"]"#,
                                      with: #"["sh", "-c", "sleep 5; echo bye"]"#)
            try short.write(toFile: dir + "/short.yaml", atomically: true, encoding: .utf8)
            try serve.kubectl(["apply", "-f", dir + "/short.yaml"])
            #expect(try serve.kubectl(["wait", "--for=condition=Ready", "pod/short", "--timeout=30s"]).status == 0)
            let ended = try serve.kubectl(["attach", "short"], timeout: 30)
            #expect(ended.status == 0 && ended.stdout == "bye\n", "\(ended)")
        }
    }
}
