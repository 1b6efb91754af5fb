import Foundation
import OneShotHTTP
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

extension PublisherTests {
    /// On real files: the link is relative, resolves from a different mount path (a copy of the
    /// root elsewhere stands in for the second mount), and a re-publish replaces it by rename.
    @Test func publishIsRelativeAndReplaces() throws {
        let root = NSTemporaryDirectory() + "gitsync-pub-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for h in ["aaa", "bbb"] {
            try FileManager.default.createDirectory(atPath: "\(root)/.worktrees/\(h)", withIntermediateDirectories: true)
            try h.write(toFile: "\(root)/.worktrees/\(h)/f", atomically: true, encoding: .utf8)
        }
        try Publisher.publish(target: "\(root)/.worktrees/aaa", link: "\(root)/html")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/html") == ".worktrees/aaa")
        try Publisher.publish(target: "\(root)/.worktrees/bbb", link: "\(root)/html")
        #expect(try String(contentsOfFile: "\(root)/html/f", encoding: .utf8) == "bbb")
        #expect(Publisher.currentTarget(link: "\(root)/html") == "\(root)/.worktrees/bbb")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/tmp-link"))
        // A link in a sub-directory points up and across.
        try Publisher.publish(target: "\(root)/.worktrees/aaa", link: "\(root)/sub/dir/link")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/sub/dir/link") == "../../.worktrees/aaa")
        let moved = root + "-moved"
        try FileManager.default.moveItem(atPath: root, toPath: moved)
        defer { try? FileManager.default.removeItem(atPath: moved) }
        #expect(try String(contentsOfFile: "\(moved)/html/f", encoding: .utf8) == "bbb")
    }
}

/// The pieces of HTTP git-sync speaks: metrics exposition and webhook responses.
@Suite struct HTTPPartsTests {
    @Test func metricsUseGitSyncNames() {
        let m = Metrics()
        #expect(m.exposition().contains("git_fetch_count_total 0\n"))
        m.sync(.success, seconds: 0.25)
        m.sync(.noop, seconds: 0.5)
        m.fetched()
        m.hookRun("exechook", success: true)
        let text = m.exposition()
        #expect(text.contains("# TYPE git_sync_count_total counter\n"))
        #expect(text.contains("git_sync_count_total{status=\"success\"} 1\n"))
        #expect(text.contains("git_sync_count_total{status=\"noop\"} 1\n"))
        #expect(text.contains("# TYPE git_sync_duration_seconds histogram\n"))
        #expect(text.contains("git_sync_duration_seconds_sum{status=\"success\"} 0.25\n"))
        #expect(text.contains("git_sync_duration_seconds_count{status=\"noop\"} 1\n"))
        #expect(text.contains("git_fetch_count_total 1\n"))
        #expect(text.contains("git_sync_hook_run_count_total{name=\"exechook\",status=\"success\"} 1\n"))
    }

    @Test func webhookURLs() throws {
        let u = try OneShotRequest(method: .POST, url: "http://127.0.0.1:8080/hook?x=1")
        #expect(u.host == "127.0.0.1" && u.port == 8080 && u.path == "/hook?x=1")
        #expect((try? OneShotRequest(method: .POST, url: "https://example.com/")) == nil)
        #expect(try OneShotRequest(method: .POST, url: "http://example.com").path == "/")
    }
}
