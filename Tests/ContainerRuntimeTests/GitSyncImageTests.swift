import Foundation
import Testing
@testable import ContainerRuntime

/// git-sync's published image names, with any tag or digest, run `tandem sidecar git-sync`.
@Suite struct GitSyncImageTests {
    @Test(arguments: ["k8s.gcr.io/git-sync:v3.1.6", "k8s.gcr.io/git-sync", "k8s.gcr.io/git-sync/git-sync:v3.6.9",
                      "registry.k8s.io/git-sync/git-sync:v4.2.1", "registry.k8s.io/git-sync/git-sync@sha256:00"])
    func gitSyncImagesRunTheBuiltIn(image: String) throws {
        let catalog = try ImageCatalog(userFile: nil, stateDir: NSTemporaryDirectory() + "tandem-gitsync-images")
        let resolved = try catalog.resolve(image: image, command: nil, args: ["--one-time"])
        #expect(Array(resolved.argv.dropFirst()) == ["sidecar", "git-sync", "--one-time"])
    }
}
