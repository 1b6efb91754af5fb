import Foundation
import KubeAPI
import Testing
@testable import APIServer

/// The strategic merge patch `kubectl debug -c shell` sends when a `shell` ephemeral container
/// exists already: kubectl appends its new one to the list and diffs, so the patch carries the
/// key twice in `$setElementOrder` and the new spec as one element. The API server merges it
/// into the existing element (which validation then refuses as changed), never a second one.
@Test func aDebugPatchReusingANameMergesIntoTheExistingContainer() throws {
    let live = try json("""
        {"spec":{"ephemeralContainers":[{"name":"d1","image":"busybox"},{"name":"shell","image":"busybox","command":["sh"]}]}}
        """)
    let patch = try json("""
        {"spec":{"$setElementOrder/ephemeralContainers":[{"name":"d1"},{"name":"shell"},{"name":"shell"}],
                 "ephemeralContainers":[{"name":"shell","image":"busybox","command":["sh","-c","echo again"]}]}}
        """)
    let result = try Patch.strategicMerge(live, patch)
    #expect(result == (try json("""
        {"spec":{"ephemeralContainers":[{"name":"d1","image":"busybox"},{"name":"shell","image":"busybox","command":["sh","-c","echo again"]}]}}
        """)))
}
