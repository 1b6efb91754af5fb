import Foundation
import KubeAPI
import Testing

/// The pod's directory as the kubelet lays it out, whether its directories were made at the
/// pod's start or taken ready-made (`PodDirectoryPool`): what the containers see through it,
/// and that nothing of the pool is left once `tandem run` has exited.
@Suite(.serialized) struct PodDirectoryTests {
    @Test func podDirectoryFilesAndNoReadyDirectoriesLeft() throws {
        // Two pods, so that at least the second takes directories made while the first started.
        func pod(_ name: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 2
              initContainers:
              - {name: init, image: busybox, command: ["sh", "-c", "echo init-out; echo init-done > /dev/termination-log"]}
              - {name: side, image: busybox, restartPolicy: Always, command: ["sh", "-c", "trap 'exit 0' TERM; echo side-up; sleep 3600 & wait"]}
              containers:
              - {name: main, image: busybox, command: ["sh", "-c", "cat /etc/hosts /etc/hostname; echo main-done > /dev/termination-log"]}
            """
        }
        let r = try Tandem.run(pod("dirs-a") + "\n---\n" + pod("dirs-b"), keepRoot: true)
        defer { Tandem.cleanup(r) }
        #expect(r.status == 0, "\(r.stderr)")
        let pods = (try? FileManager.default.contentsOfDirectory(atPath: r.root + "/pods")) ?? []
        // The pool's directory went with the run.
        #expect(pods.sorted().map { $0.split(separator: "_").dropFirst().first.map(String.init) ?? $0 } == ["dirs-a", "dirs-b"], "\(pods)")
        for name in ["dirs-a", "dirs-b"] {
            let p = try #require(r.pod(name))
            #expect(p.containerStatus("init")?.terminated?["message"]?.stringValue == "init-done\n")
            #expect(p.containerStatus("main")?.terminated?["message"]?.stringValue == "main-done\n")
            let ip = try #require(p["status"]?["podIP"]?.stringValue)
            let main = r.log(pod: name, container: "main")
            #expect(main.contains("# Kubernetes-managed hosts file."), "\(main)")
            #expect(main.contains("\(ip)\t\(name)"), "\(main)")
            #expect(main.contains("stdout F \(name)\n"), "\(main)")
            #expect(r.log(pod: name, container: "init").contains("stdout F init-out"))
            #expect(r.log(pod: name, container: "side").contains("stdout F side-up"))

            let dir = "\(r.root)/pods/" + (pods.first { $0.contains("_\(name)_") } ?? name)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).contains("etc-hosts"))
            for c in ["init", "side", "main"] {
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/\(c)")) ?? []).sorted()
                // The staged log became the instance's log; no other file is there.
                #expect(files == ["0.log", "termination-0.log"], "\(c): \(files)")
                let mode = try FileManager.default.attributesOfItem(atPath: "\(dir)/\(c)/termination-0.log")[.posixPermissions] as? Int
                #expect(mode == 0o666, "\(c)")
            }
        }
    }
}
