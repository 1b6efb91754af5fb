import Foundation
import Testing

/// ConfigMap and Secret edits reaching a running pod's volumes (`tandem run --watch`), through the
/// kubelet's `..data` swap, while a subPath mount keeps the file it bound.
@Suite struct VolumeUpdateTests {
    static func manifest(greeting: String, password: String, marker: String) -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app-config}
        data: {greeting: "\(greeting)"}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: app-secret}
        data: {password: \(Data(password.utf8).base64EncodedString())}
        ---
        \(readerPod(marker: marker))
        """
    }

    /// A pod whose container idles with `marker` in its command line, mounting ConfigMap
    /// `app-config` at /etc/cfg (and its `greeting` key by subPath at /etc/greeting) and Secret
    /// `app-secret` at /etc/sec.
    static func readerPod(marker: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: cfg-reader}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: app
            image: busybox
            command: ["sh", "-c", "while true; do sleep 1; done", "\(marker)"]
            volumeMounts:
            - {name: cfg, mountPath: /etc/cfg}
            - {name: sec, mountPath: /etc/sec, readOnly: true}
            - {name: cfg, mountPath: /etc/greeting, subPath: greeting}
          volumes:
          - {name: cfg, configMap: {name: app-config}}
          - {name: sec, secret: {secretName: app-secret}}
        """
    }

    /// A container is set up ahead of its turn (`Runtime.create`), but its environment and
    /// `$(VAR)` arguments are those of its start, as the kubelet computes them then: a ConfigMap
    /// edited while the init container runs reaches the main container's env. The init container
    /// waits until the edit reached its own volume, so the main container was made before it.
    @Test func environmentIsComputedWhenTheContainerStartsNotWhenItWasCreated() throws {
        let dir = try Tandem.tempDir("tandem-env-at-start")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func manifest(_ word: String) -> String {
            """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: late-config}
            data: {word: \(word)}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: env-at-start}
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              initContainers:
              - name: wait-for-edit
                image: busybox
                command: ["sh", "-c", "until grep -q after /cfg/word; do sleep 0.1; done"]
                volumeMounts: [{name: cfg, mountPath: /cfg}]
              containers:
              - name: main
                image: busybox
                command: ["sh", "-c", "echo env=$WORD arg=$0", "$(WORD)"]
                env:
                - name: WORD
                  valueFrom: {configMapKeyRef: {name: late-config, key: word}}
              volumes:
              - {name: cfg, configMap: {name: late-config}}
            """
        }
        let file = dir + "/pod.yaml"
        try manifest("before").write(toFile: file, atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [file], args: ["--watch", "--timeout", "60s"])
        defer { run.cleanup() }
        #expect(run.wait { run.pod("env-at-start")?["status"]?["initContainerStatuses"]?.array.first?["state"]?["running"] != nil })
        try manifest("after").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(run.wait { run.log(pod: "env-at-start", container: "main").contains("env=") })
        #expect(run.log(pod: "env-at-start", container: "main").contains("env=after arg=after"))
        _ = run.stop()
    }

    @Test func editedConfigMapAndSecretReachTheRunningContainer() throws {
        let dir = try Tandem.tempDir("tandem-volume-update")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let marker = "cfg-reader-\(UUID().uuidString.prefix(8))"
        let file = dir + "/app.yaml"
        try Self.manifest(greeting: "hello v1", password: "s1", marker: marker).write(toFile: file, atomically: true, encoding: .utf8)
        let run = try BackgroundRun(files: [file], args: ["--watch", "--timeout", "60s"])
        defer { run.cleanup() }
        #expect(run.wait { run.podRunningAndReady("cfg-reader") })
        let pid = try #require(processes(containing: marker).first)
        func read(_ path: String) -> String? { try? String(contentsOfFile: "/proc/\(pid)/root\(path)", encoding: .utf8) }
        #expect(read("/etc/cfg/greeting") == "hello v1")
        #expect(read("/etc/sec/password") == "s1")
        let before = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root/etc/cfg/..data")

        try Self.manifest(greeting: "hello v2", password: "s2", marker: marker).write(toFile: file, atomically: true, encoding: .utf8)
        #expect(run.wait(for: 10) { read("/etc/cfg/greeting") == "hello v2" && read("/etc/sec/password") == "s2" },
                "volumes not updated: \(read("/etc/cfg/greeting") ?? "nil"), \(read("/etc/sec/password") ?? "nil")")
        // A new timestamped directory behind `..data`, and the key still a link through it.
        let after = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root/etc/cfg/..data")
        #expect(after != before && after.hasPrefix("..20"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root/etc/cfg/greeting") == "..data/greeting")
        // subPath binds the file itself: the kubelet never updates it.
        #expect(read("/etc/greeting") == "hello v1")
        // The same container all along.
        #expect(processes(containing: marker) == [pid])
        let r = run.stop()
        #expect(r.pod("cfg-reader")?.containerStatus("app")?["restartCount"]?.int == 0)
    }
}
