import Foundation
import KubeAPI
import Testing
@testable import APIServer

@Suite struct EphemeralPatchTests {
    /// The strategic merge patch `kubectl debug -c shell` sends (as kubectl 1.32 printed it) when a
    /// `shell` ephemeral container exists already: kubectl appends its new one and diffs, so the
    /// patch names the key twice in `$setElementOrder` and carries the new spec, then the old one.
    /// The API server merges both into the existing element in turn, leaving it as it was, and
    /// never adds a second element.
    @Test func aDebugPatchReusingANameMergesIntoTheExistingContainer() throws {
        let live = try json("""
            {"spec":{"ephemeralContainers":[{"name":"d1","image":"busybox"},{"name":"shell","image":"busybox","command":["sh"]}]}}
            """)
        let patch = try json("""
            {"spec":{"$setElementOrder/ephemeralContainers":[{"name":"d1"},{"name":"shell"},{"name":"shell"}],
                     "ephemeralContainers":[{"command":["sh","-c","echo again"],"imagePullPolicy":null,"name":"shell"},
                                            {"command":["sh"],"image":"busybox","name":"shell"}]}}
            """)
        let result = try Patch.strategicMerge(live, patch)
        #expect(result == (try json("""
            {"spec":{"ephemeralContainers":[{"name":"d1","image":"busybox"},{"name":"shell","image":"busybox","command":["sh"]}]}}
            """)))
    }

    /// The typed client's `UpdateEphemeralContainers` body (a Pod in the `k8s\0` envelope): an
    /// ephemeral container is a Container's fields (`EphemeralContainerCommon`, the same numbers)
    /// inline, then its target; tolerations as `kubectl debug node/…` sends them.
    @Test func aProtobufPodWithEphemeralContainersAndTolerationsDecodes() throws {
        let ephemeral = field(1, field(1, "dbg") + field(2, "busybox") + field(3, "sh")) + field(2, "app")
        let spec = field(2, field(1, "app") + field(2, "busybox")) + field(22, field(2, "Exists")) + field(34, ephemeral)
        let pod = field(1, field(1, "web")) + field(2, spec)
        let body = Protobuf.magic + field(1, field(1, "v1") + field(2, "Pod")) + field(2, pod)
        let decoded = try Protobuf.decode(body)
        #expect(decoded == (try json("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
             "spec":{"containers":[{"name":"app","image":"busybox"}],"tolerations":[{"operator":"Exists"}],
                     "ephemeralContainers":[{"name":"dbg","image":"busybox","command":["sh"],"targetContainerName":"app"}]}}
            """)))
    }
}

/// A protobuf base-128 varint.
private func varint(_ value: Int) -> [UInt8] {
    var out: [UInt8] = []
    var n = value
    repeat {
        out.append(UInt8(n & 0x7f) | (n > 0x7f ? 0x80 : 0))
        n >>= 7
    } while n > 0
    return out
}

/// A protobuf length-delimited field (wire type 2), for the hand-made bodies above.
private func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
    varint(number << 3 | 2) + varint(bytes.count) + bytes
}

private func field(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }
