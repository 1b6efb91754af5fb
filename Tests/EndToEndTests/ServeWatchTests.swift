import Foundation
import Testing

/// A watch with a label selector follows objects into and out of the selection as the API
/// server's watch cache does: relabelled away is DELETED, relabelled in is ADDED.
@Suite(.serialized) struct ServeWatchTests {
    @Test func aSelectedWatchSeesObjectsLeaveAndEnterTheSelection() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")
        for (name, app) in [("a", "x"), ("b", "y")] {
            let r = try serve.kubectl(["create", "configmap", name, "--from-literal=k=v"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try serve.kubectl(["label", "configmap", name, "app=\(app)"]).status == 0)
        }
        let watch = try serve.kubectlInBackground(["get", "configmaps", "-l", "app=x", "--watch", "--output-watch-events", "--no-headers"])
        defer { watch.process.terminate() }
        // `EVENT NAME DATA AGE` rows: the event and the name.
        func output() -> String {
            ((try? String(contentsOfFile: watch.out, encoding: .utf8)) ?? "").split(separator: "\n")
                .map { $0.split(separator: " ").prefix(2).joined(separator: " ") + "\n" }.joined()
        }
        #expect(waitUntil(20) { output().contains("ADDED a") }, "\(output())")
        #expect(try serve.kubectl(["label", "configmap", "a", "app=z", "--overwrite"]).status == 0)
        #expect(try serve.kubectl(["label", "configmap", "b", "app=x", "--overwrite"]).status == 0)
        #expect(try serve.kubectl(["label", "configmap", "b", "tier=web"]).status == 0)
        #expect(waitUntil(20) { output().split(separator: "\n").count >= 4 }, "\(output())")
        #expect(output() == "ADDED a\nDELETED a\nADDED b\nMODIFIED b\n", "\(output())")
        #expect(serve.stop() == 0)
    }
}
