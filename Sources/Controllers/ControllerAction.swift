import Foundation
import KubeAPI

/// What a reconcile function asks the driver to do.
///
/// The controllers are pure: kube-controller-manager's controllers talk to the API server
/// through clients (`podControl.CreatePods`, `rsControl.PatchReplicaSet`, ...); here the
/// same decisions come back as values so that they can be tested without a clock, a
/// store or processes, and the driver (which owns the object store) applies them.
public enum ControllerAction: Sendable, Hashable {
    /// A fully formed Pod: name, namespace, labels, annotations, ownerReferences,
    /// creationTimestamp, uid and spec from the owner's template (`controller.GetPodFromTemplate`).
    case createPod(Pod)
    /// Graceful deletion (`podControl.DeletePod`): the driver sets `deletionTimestamp`
    /// and lets the kubelet side terminate the pod.
    case deletePod(namespace: String, name: String)
    case createReplicaSet(ReplicaSet)
    /// The ReplicaSet with a new `spec.replicas` and/or annotations.
    case updateReplicaSet(ReplicaSet)
    case deleteReplicaSet(namespace: String, name: String)
    /// A Job made by the CronJob controller (`jobControl.CreateJob`): name, namespace, labels,
    /// annotations, controller reference and spec are set; the driver gives it a uid and
    /// creationTimestamp and admits it as the API server would (`JobController.prepare`).
    case createJob(Job)
    /// A finished Job whose `ttlSecondsAfterFinished` has passed
    /// (pkg/controller/ttlafterfinished `processTTL`), or a CronJob's Job beyond its history
    /// limits or replaced (`concurrencyPolicy: Replace`): the driver deletes the Job; its pods
    /// are deleted by the accompanying `deletePod` actions, standing in for the garbage
    /// collector's background cascading deletion.
    case deleteJob(namespace: String, name: String)
}

/// The result of one sync: actions for the driver, the object's new status, and when to
/// sync again if nothing else changes (`queue.AddAfter` in the real controllers).
public struct Reconciled<Status: Sendable>: Sendable {
    public var actions: [ControllerAction]
    public var status: Status
    public var requeueAfter: Duration?

    public init(actions: [ControllerAction], status: Status, requeueAfter: Duration? = nil) {
        self.actions = actions
        self.status = status
        self.requeueAfter = requeueAfter
    }
}

extension Reconciled: Equatable where Status: Equatable {}

/// The alphabet of `k8s.io/apimachinery/pkg/util/rand`: no vowels (so no words) and no
/// confusable characters (0, 1, 3).
enum SafeAlphabet {
    static let characters: [Character] = Array("bcdfghjklmnpqrstvwxz2456789")

    /// `rand.SafeEncodeString`: every byte is mapped onto the alphabet by `byte % 27`.
    static func encode(_ s: String) -> String {
        String(s.utf8.map { characters[Int($0) % characters.count] })
    }
}

/// Name suffixes as the API server's `generateName` produces them
/// (`names.SimpleNameGenerator`: 5 random characters of the safe alphabet).
public enum NameGenerator {
    public static func randomSuffix() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<5).map { _ in SafeAlphabet.characters[Int(rng.next(upperBound: UInt32(SafeAlphabet.characters.count)))] })
    }
}

/// `controller.ComputeHash`: the `pod-template-hash` label value that names a Deployment's
/// ReplicaSet and tells its pods apart from other revisions.
///
/// The real function feeds a `spew` dump of the Go struct into FNV-1a 32; that dump cannot
/// be reproduced outside Go, so the template is rendered as canonical JSON (sorted keys,
/// no whitespace) instead. What matters is kept: the same template always gives the same
/// hash (across runs and processes, so that a restarted Tandem finds its ReplicaSets again),
/// a different template almost surely a different one, and the value is the decimal
/// `Sum32` encoded with `SafeEncodeString`, so it looks like the real one.
public enum PodTemplateHash {
    public static func hash(_ template: PodTemplateSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(template)) ?? Data()
        return SafeAlphabet.encode(String(fnv32a(data)))
    }

    /// FNV-1a, 32 bits (`hash/fnv.New32a`).
    static func fnv32a(_ data: Data) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for byte in data {
            h ^= UInt32(byte)
            h = h &* 16_777_619
        }
        return h
    }
}
