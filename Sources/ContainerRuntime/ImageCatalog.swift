import Foundation
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// What a container image stands for on this host: Docker's entrypoint + cmd, env,
/// workingDir, and files the image would carry (nginx's config, its index page).
public struct ResolvedImage: Sendable {
    /// The command line to run (entrypoint/cmd combined with the pod's command/args).
    public var argv: [String]
    /// The image's env; the container's own env goes after it (and wins).
    public var env: [String]
    public var workingDir: String?
    /// Files to place in the container's root (unpacked by `ImageCatalog.filesDirectory`).
    public var files: [String: FileContent]
}

/// An image that cannot be run; `reason` is the kubelet's waiting reason.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public var image: String
    public var message: String
    public var reason: String
    public var description: String { message }

    static func notFound(_ image: String) -> ImageError {
        ImageError(image: image, message: """
            image "\(image)" is not in Tandem's image catalog: map it to a host command in an --images file \
            (image: {command: [...]})
            """, reason: "ErrImagePull")
    }
}

/// Maps image references to host programs: Tandem runs no container engine and pulls
/// nothing, so an image is just a name for "which host binary, with which defaults".
public struct ImageCatalog: Sendable {
    /// One image's defaults, in Docker's terms.
    public struct Entry: Sendable {
        public var entrypoint: [String]
        public var cmd: [String]
        public var env: [String]
        public var workingDir: String?
        public var files: [String: FileContent]
        public init(entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String? = nil,
                    files: [String: FileContent] = [:]) {
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.env = env
            self.workingDir = workingDir
            self.files = files
        }
    }

    public private(set) var entries: [String: Entry]
    /// Where runtime-owned image helpers live (busybox's applet links, images' files).
    public let stateDir: String

    public static let defaultStateDir = "/var/lib/tandem/images"
    static let hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// - Parameters:
    ///   - userFile: YAML (or JSON) mapping image → {command, args, env, workingDir};
    ///     relative program paths ("./.build/debug/myapp") are taken relative to the file.
    ///   - stateDir: where runtime-owned image helpers live (busybox's applet links).
    public init(userFile: String?, stateDir: String = ImageCatalog.defaultStateDir) throws {
        self.stateDir = stateDir
        entries = Self.builtins(stateDir: stateDir)
        if let userFile {
            for (name, entry) in try Self.load(userFile) { entries[Self.normalize(name, keepTag: true)] = entry }
        }
    }

    /// Docker semantics: `command` replaces the entrypoint and drops cmd; `args` replaces cmd.
    public func resolve(image: String, command: [String]?, args: [String]?) throws(ImageError) -> ResolvedImage {
        guard let entry = lookup(image) else { throw .notFound(image) }
        let argv: [String]
        if let command, !command.isEmpty {
            argv = command + (args ?? [])
        } else {
            argv = entry.entrypoint + ((args?.isEmpty == false ? args : nil) ?? entry.cmd)
        }
        guard !argv.isEmpty else {
            throw ImageError(image: image, message: "no command specified for image \"\(image)\"", reason: "CreateContainerError")
        }
        return ResolvedImage(argv: argv, env: entry.env, workingDir: entry.workingDir, files: entry.files)
    }

    func lookup(_ image: String) -> Entry? {
        entries[Self.normalize(image, keepTag: true)] ?? entries[Self.normalize(image, keepTag: false)]
    }

    /// `docker.io/library/busybox:1.36@sha256:…` → `busybox:1.36` (keepTag) or `busybox`.
    /// The `latest` tag is the same as no tag.
    static func normalize(_ ref: String, keepTag: Bool) -> String {
        var name = ref.lowercased()
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
        }
        if name.hasPrefix("library/") { name.removeFirst("library/".count) }
        let lastSlash = name.lastIndex(of: "/") ?? name.startIndex
        if let colon = name[lastSlash...].lastIndex(of: ":") {
            let tag = name[name.index(after: colon)...]
            if !keepTag || tag == "latest" { name = String(name[..<colon]) }
        }
        return name
    }

    // MARK: built-ins

    static func builtins(stateDir: String) -> [String: Entry] {
        var b: [String: Entry] = [:]
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox") {
            let bin = stateDir + "/busybox/bin"
            // Applets first, so `sh`, `wget`, `httpd`, `date` are busybox's, as in the real image.
            b["busybox"] = Entry(cmd: ["sh"], env: ["PATH=\(bin):/usr/sbin:/usr/bin:/sbin:/bin"])
        }
        b["nginx"] = Entry(cmd: ["nginx", "-g", "daemon off;"],
                           env: ["PATH=\(hostPath)", "NGINX_VERSION=host"],
                           files: nginxFiles)
        for (image, subcommand) in sidecarImages {
            b[image] = Entry(entrypoint: [tandemExecutable, "sidecar"] + subcommand, env: ["PATH=\(hostPath)"])
        }
        return b
    }

    /// Images whose program Tandem ships itself (`tandem sidecar …`), so manifests written for a
    /// real cluster run unchanged: image name (no tag) → the subcommand that stands in for it.
    static let sidecarImages: [String: [String]] = [
        // The MinIO operator's sidecar (validate / sidecar), under both registries it ships from.
        "minio/operator-sidecar": ["config"],
        "quay.io/minio/operator-sidecar": ["config"],
        "k8s.gcr.io/git-sync": ["git-sync"],
        "k8s.gcr.io/git-sync/git-sync": ["git-sync"],
        "registry.k8s.io/git-sync/git-sync": ["git-sync"],
    ]

    /// This binary, as the containers see it: their root is an overlay of the host's `/`, so the
    /// host path of the running executable is valid inside every container too.
    static let tandemExecutable: String = {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }()

    /// Creates what the built-in images need on disk (busybox's applet links). Separate from
    /// `init` so that a manifest can be checked against the catalog without touching the disk.
    public func prepare() {
        if entries["busybox"] != nil { Self.installBusyboxApplets(into: stateDir + "/busybox/bin") }
        // Best effort: a failure here is met again, and reported, by the first container's start.
        for entry in entries.values { _ = try? filesDirectory(entry.files) }
    }

    /// The directory holding an image's `files` for `ContainerSpec.imageFiles`, unpacked on first
    /// use (`ImageFiles`); nil for an image that carries none.
    public func filesDirectory(_ files: [String: FileContent]) throws -> String? {
        files.isEmpty ? nil : try ImageFiles.directory(for: files, under: stateDir + "/files")
    }

    /// Creates the image's bin dir once (atomically, so concurrent tandems don't race): a copy of
    /// the host's busybox with its wget `-T` crash fixed (`fixedBusybox`) and a relative link to
    /// it for every applet, as the real image has. A dir of an older layout (links to the host's
    /// binary) is replaced.
    static func installBusyboxApplets(into dir: String) {
        if FileManager.default.fileExists(atPath: dir + "/busybox") { return }
        let parent = (dir as NSString).deletingLastPathComponent
        let tmp = parent + "/.bin-" + UUID().uuidString
        do {
            try Sys.mkdirs(tmp)
            let host = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/busybox"))
            try fixedBusybox(host).write(to: URL(fileURLWithPath: tmp + "/busybox"))
            chmod(tmp + "/busybox", 0o755)
            for applet in try busyboxApplets() where applet != "busybox" {
                symlink("busybox", tmp + "/" + applet)
            }
            if rename(tmp, dir) != 0 {
                // An older layout: move it aside, then take its place.
                let old = parent + "/.old-" + UUID().uuidString
                if rename(dir, old) == 0 { try? FileManager.default.removeItem(atPath: old) }
                if rename(tmp, dir) != 0 { try? FileManager.default.removeItem(atPath: tmp) }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
        }
    }

    /// The applet names of the host's busybox (`busybox --list`): a one-off synchronous child at
    /// catalog preparation, spawned and waited for directly.
    static func busyboxApplets() throws -> [String] {
        let (r, w) = try Sys.pipe()
        let pid = try Sys.spawn("/usr/bin/busybox", argv: ["busybox", "--list"], env: [], fds: [-1, w, -1], searchPath: false)
        close(w)
        let out = FileHandle(fileDescriptor: r, closeOnDealloc: true).readDataToEndOfFile()
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The start of wget's getopt32 option string in busybox 1.35 built without
    /// FEATURE_WGET_TIMEOUT (Debian 12's): `-T` is still parsed, as a number (`+`), and getopt32
    /// stores a number through the NULL pointer passed for it, so `wget -T 2 URL` dies of SIGSEGV.
    /// A busybox shell runs an applet by re-executing its own binary (`/proc/self/exe`), never by
    /// PATH, so no wrapper script can stand in: the fix has to be in the binary the image's `sh` is.
    static let wgetOptions = Array("^cqSO:o:P:Y:U:T:+t:n::\0".utf8)

    /// The host's busybox with wget's `-T` parsed as a string, which getopt32 stores only through
    /// a non-NULL pointer: `-T N` is then accepted and ignored, as `-t N` already is (this build
    /// has no timeout to set). The `+` is dropped and the rest of the string, through the NUL that
    /// ends its second part (getopt32's "^opts\0complementary\0" form), moves back one byte with a
    /// NUL after it; nothing else in the binary moves. Unchanged when the string is not found, as
    /// for a busybox built otherwise.
    static func fixedBusybox(_ binary: Data) -> Data {
        var bytes = [UInt8](binary)
        guard let range = bytes.firstRange(of: wgetOptions),
              let end = bytes[range.upperBound...].firstIndex(of: 0) else { return binary }
        let plus = range.lowerBound + "^cqSO:o:P:Y:U:T:".utf8.count
        bytes.replaceSubrange(plus...end, with: Array(bytes[(plus + 1)...end]) + [0])
        return Data(bytes)
    }

    /// The official nginx image's configuration, pointed at Debian's nginx: same paths,
    /// logs linked to stdout/stderr (a volume mounted on /var/log/nginx hides the links,
    /// exactly as with the real image), Debian's sites-enabled not included.
    static let nginxFiles: [String: FileContent] = [
        "/etc/nginx/nginx.conf": FileContent("""
            user  www-data;
            worker_processes  1;

            error_log  /var/log/nginx/error.log notice;
            pid        /run/nginx.pid;

            events {
                worker_connections  1024;
            }

            http {
                include       /etc/nginx/mime.types;
                default_type  application/octet-stream;

                log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                                  '$status $body_bytes_sent "$http_referer" '
                                  '"$http_user_agent" "$http_x_forwarded_for"';

                access_log  /var/log/nginx/access.log  main;

                sendfile        on;
                keepalive_timeout  65;

                include /etc/nginx/conf.d/*.conf;
            }

            """),
        "/etc/nginx/conf.d/default.conf": FileContent("""
            server {
                listen       80;
                listen  [::]:80;
                server_name  localhost;

                location / {
                    root   /usr/share/nginx/html;
                    index  index.html index.htm;
                }

                error_page   500 502 503 504  /50x.html;
                location = /50x.html {
                    root   /usr/share/nginx/html;
                }
            }

            """),
        "/usr/share/nginx/html/index.html": FileContent("""
            <!DOCTYPE html>
            <html>
            <head>
            <title>Welcome to nginx!</title>
            </head>
            <body>
            <h1>Welcome to nginx!</h1>
            <p>If you see this page, the nginx web server is successfully installed and
            working. Further configuration is required.</p>
            </body>
            </html>

            """),
        "/usr/share/nginx/html/50x.html": FileContent("""
            <!DOCTYPE html>
            <html><head><title>Error</title></head>
            <body><h1>An error occurred.</h1></body></html>

            """),
        "/var/log/nginx/access.log": .symlink(to: "/dev/stdout"),
        "/var/log/nginx/error.log": .symlink(to: "/dev/stderr"),
        "/var/cache/nginx/.keep": FileContent(""),
    ]

    // MARK: user file

    static func load(_ path: String) throws -> [String: Entry] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw RuntimeError("cannot read image catalog \(path): \(error.localizedDescription)")
        }
        let base = ((path as NSString).deletingLastPathComponent as NSString).standardizingPath
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw RuntimeError("image catalog \(path): \(error)") }
        guard var top = root as? [String: Any] else {
            if root == nil { return [:] }
            throw RuntimeError("image catalog \(path): expected a mapping of image name to {command, args, env, workingDir}")
        }
        if top.count == 1, let inner = top["images"] as? [String: Any] { top = inner }
        var out: [String: Entry] = [:]
        for (image, value) in top {
            guard let m = value as? [String: Any] else { throw RuntimeError("image catalog \(path): \(image): expected a mapping") }
            let known: Set<String> = ["command", "args", "env", "workingDir"]
            if let bad = m.keys.first(where: { !known.contains($0) }) {
                throw RuntimeError("image catalog \(path): \(image): unknown field \"\(bad)\" (allowed: command, args, env, workingDir)")
            }
            var e = Entry()
            e.entrypoint = try strings(m["command"], "\(image).command", path)
            e.cmd = try strings(m["args"], "\(image).args", path)
            if let first = e.entrypoint.first, first.hasPrefix("./") || first.hasPrefix("../") {
                e.entrypoint[0] = ((base as NSString).appendingPathComponent(first) as NSString).standardizingPath
            }
            e.env = try envList(m["env"], image, path)
            if !e.env.contains(where: { $0.hasPrefix("PATH=") }) { e.env.insert("PATH=\(hostPath)", at: 0) }
            e.workingDir = m["workingDir"].map { "\($0)" }
            out[image] = e
        }
        return out
    }

    private static func strings(_ v: Any?, _ field: String, _ path: String) throws -> [String] {
        guard let v else { return [] }
        if let s = v as? String { return [s] }
        guard let a = v as? [Any] else { throw RuntimeError("image catalog \(path): \(field): expected a list of strings") }
        return a.map { "\($0)" }
    }

    private static func envList(_ v: Any?, _ image: String, _ path: String) throws -> [String] {
        guard let v else { return [] }
        if let m = v as? [String: Any] { return m.keys.sorted().map { "\($0)=\(m[$0].map { "\($0)" } ?? "")" } }
        if let a = v as? [Any] {
            return try a.map { item in
                guard let m = item as? [String: Any], let name = m["name"] else {
                    throw RuntimeError("image catalog \(path): \(image).env: expected {name, value} items")
                }
                return "\(name)=\(m["value"].map { "\($0)" } ?? "")"
            }
        }
        throw RuntimeError("image catalog \(path): \(image).env: expected a mapping or a list of {name, value}")
    }
}
