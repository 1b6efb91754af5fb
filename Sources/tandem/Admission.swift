import ContainerRuntime
import KubeAPI

/// Checks that need the whole input or the node, made before anything starts so that bad input
/// leaves nothing behind: namespaces exist, names are unique per kind, every image is in the
/// catalog.
enum Admission {
    static func check(_ objects: [(KubeObject, String)], images: ImageCatalog) -> [String] {
        var errors: [String] = []
        var namespaces: Set<String> = ["default", "kube-system", "kube-public", "kube-node-lease"]
        for (o, _) in objects { if case .namespace(let n) = o, let name = n.metadata.name { namespaces.insert(name) } }
        var seen: Set<String> = []
        for (o, source) in objects {
            let ns = o.metadata.namespace ?? "default"
            let name = o.metadata.name ?? ""
            if case .namespace = o {} else if !namespaces.contains(ns) {
                errors.append("error: \(source): namespaces \"\(ns)\" not found")
            }
            let key = "\(o.kind)/\(ns)/\(name)"
            if !seen.insert(key).inserted {
                errors.append("error: \(source): \(resource(o.kind)) \"\(name)\" already exists")
            }
            if case .pod(let pod) = o, let e = Validation.ephemeralContainersOnCreate(pod.spec).first {
                errors.append("error: \(source): The Pod \"\(name)\" is invalid: \(e)")
            }
            for (path, spec) in podSpecs(o) {
                for (list, containers) in [("initContainers", spec.initContainers ?? []), ("containers", spec.containers)] {
                    for (i, c) in containers.enumerated() {
                        do {
                            _ = try images.resolve(image: c.image ?? "", command: c.command, args: c.args)
                        } catch {
                            errors.append("error: \(source): The \(o.kind) \"\(name)\" is invalid: \(path)\(list)[\(i)].image: Invalid value: \"\(c.image ?? "")\": \(error)")
                        }
                    }
                }
            }
        }
        return errors
    }

    static func resource(_ kind: String) -> String {
        switch kind {
        case "Pod": return "pods"
        case "Job": return "jobs.batch"
        case "CronJob": return "cronjobs.batch"
        case "Deployment": return "deployments.apps"
        case "ReplicaSet": return "replicasets.apps"
        case "ConfigMap": return "configmaps"
        case "Secret": return "secrets"
        case "Service": return "services"
        default: return "namespaces"
        }
    }

    static func podSpecs(_ o: KubeObject) -> [(String, PodSpec)] {
        switch o {
        case .pod(let p): return [("spec.", p.spec)]
        case .job(let j): return [("spec.template.spec.", j.spec.template.spec)]
        case .cronJob(let c): return [("spec.jobTemplate.spec.template.spec.", c.spec.jobTemplate.spec.template.spec)]
        case .deployment(let d): return [("spec.template.spec.", d.spec.template.spec)]
        case .replicaSet(let r): return [("spec.template.spec.", r.spec.template.spec)]
        default: return []
        }
    }
}
