extension Validation {
    /// `ValidatePodUpdate`: a Pod's spec may change only in its images and activeDeadlineSeconds.
    public static func podUpdateError(old: PodSpec, new: PodSpec) -> String? {
        // imagePullPolicy is defaulted from the image tag; an apply keeps the live value.
        var a = old, b = new
        for i in a.containers.indices { a.containers[i].image = nil; a.containers[i].imagePullPolicy = nil }
        for i in b.containers.indices { b.containers[i].image = nil; b.containers[i].imagePullPolicy = nil }
        for i in (a.initContainers ?? []).indices { a.initContainers![i].image = nil; a.initContainers![i].imagePullPolicy = nil }
        for i in (b.initContainers ?? []).indices { b.initContainers![i].image = nil; b.initContainers![i].imagePullPolicy = nil }
        a.activeDeadlineSeconds = nil
        b.activeDeadlineSeconds = nil
        a.nodeName = nil
        b.nodeName = nil
        if a == b { return nil }
        return "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
    }
}
