import Foundation
import Testing
@testable import GitSync

/// The relative link target and the rename-based publish, on real files.
@Suite struct PublisherTests {
    @Test func relativePathMatchesGoFilepathRel() {
        #expect(Publisher.relativePath(from: "/tmp/git", to: "/tmp/git/.worktrees/abc") == ".worktrees/abc")
        #expect(Publisher.relativePath(from: "/tmp/git/.worktrees/abc", to: "/tmp/git") == "../..")
        #expect(Publisher.relativePath(from: "/tmp/git/links/deep", to: "/tmp/git/.worktrees/abc") == "../../.worktrees/abc")
        #expect(Publisher.relativePath(from: "/a", to: "/a") == ".")
    }
}
