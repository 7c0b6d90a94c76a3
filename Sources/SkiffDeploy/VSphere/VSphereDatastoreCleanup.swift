import Glibc

// What a failed deploy leaves on a datastore, and taking it away again: a folder's entries read
// with HostDatastoreBrowser.SearchDatastore_Task (the API's own listing, a missing folder is the
// task's FileNotFound), the decision what of it this run made (`DatastoreLeftovers`), and an
// upload that a caller can stop from its progress callback (a signal while the bytes go).

/// What to delete after a failure, from a folder's entries before the run touched it and now.
public enum DatastoreLeftovers: Equatable, Sendable {
    case nothing
    /// The folder did not exist before and holds nothing to keep: all of it.
    case folder
    /// These entries (names in the folder) are new.
    case entries([String])

    /// `before`: the folder's entries before this run wrote anything (nil: no folder); `now`:
    /// after the failure; `keep`: entries this run made on purpose and leaves (the uploaded image).
    public static func decide(before: [String]?, now: [String]?, keep: Set<String> = []) -> DatastoreLeftovers {
        guard let now else { return .nothing }
        if before == nil && keep.isEmpty { return .folder }
        let old = Set(before ?? [])
        let new = now.filter { !old.contains($0) && !keep.contains($0) }.sorted()
        return new.isEmpty ? .nothing : .entries(new)
    }
}

extension VSphereSession {
    /// The names in a datastore folder (files and subfolders, one level), or nil when there is no
    /// such folder: SearchDatastore_Task on the datastore's browser, FileNotFound meaning absent.
    public func datastoreFolderEntries(_ folder: DatastoreFile, datastore: ManagedObjectReference) throws(DeployError) -> [String]? {
        guard let browser = try properties(of: datastore, ["browser"])?.reference("browser") else {
            throw .failure("vSphere: the datastore \(folder.datastore) has no browser to list \(folder.datastorePath)")
        }
        let task = try startTask("SearchDatastore_Task", Self.searchDatastoreBody(browser: browser, folder: folder))
        switch try outcome(of: task, "listing \(folder.datastorePath)", timeout: 120) {
        case .success(let result):
            return Self.searchResultNames(result)
        case .failure(let fault):
            if fault.name == "FileNotFound" { return nil }
            throw .failure("vSphere: listing \(folder.datastorePath): \(fault)")
        }
    }

    /// HostDatastoreBrowserSearchSpec in WSDL order: query (every file, every folder), matchPattern.
    static func searchDatastoreBody(browser: ManagedObjectReference, folder: DatastoreFile) -> String {
        SOAP.call("SearchDatastore_Task", this: browser) { xml in
            xml.element("datastorePath", folder.datastorePath)
            xml.group("searchSpec") { xml in
                xml.group("query", type: "FolderFileQuery") { _ in }
                xml.group("query", type: "FileQuery") { _ in }
                xml.element("matchPattern", "*")
            }
        }
    }

    /// The `path` of each `file` of a HostDatastoreBrowserSearchResults.
    static func searchResultNames(_ result: XML.Element?) -> [String] {
        result?.children("file").compactMap { file in
            file.child("path").map { $0.text.trimmingXMLSpace }.flatMap { $0.isEmpty ? nil : $0 }
        } ?? []
    }

    /// Deletes what `leftovers` names in `folder` (DeleteDatastoreFile_Task, each entry with what
    /// is in it); returns the datastore paths that could not be deleted, with why.
    public func deleteLeftovers(_ leftovers: DatastoreLeftovers, in folder: DatastoreFile,
                                datacenter: ManagedObjectReference) -> [String] {
        var targets: [DatastoreFile] = []
        switch leftovers {
        case .nothing: return []
        case .folder: targets = [folder]
        case .entries(let names):
            targets = names.map { DatastoreFile(datacenterPath: folder.datacenterPath, datastore: folder.datastore, path: folder.path + "/" + $0) }
        }
        var failed: [String] = []
        for target in targets {
            do {
                try deleteDatastoreFile(target, datacenter: datacenter)
            } catch {
                failed.append("\(target.datastorePath) (\(error.message))")
            }
        }
        return failed
    }

    /// PUT of a local file to the datastore, as `datastoreUpload`, but `progress` may throw to
    /// stop it (the connection is closed; what arrived stays on the server until deleted).
    public func datastorePut(_ localPath: String, to file: DatastoreFile,
                             progress: @escaping (UInt64, UInt64) throws(DeployError) -> Void) throws(DeployError) {
        let headers = cookieHeader + [(name: "Content-Type", value: "application/octet-stream")]
        let request = HTTPRequest(method: "PUT", target: file.target, headers: headers, body: .file(path: localPath))
        let response: HTTPResponse
        do {
            response = try client.send(request, maxBodyBytes: 1 << 20, progress: progress)
        } catch {
            throw .failure("datastore PUT \(file.datastorePath): \(error.message)")
        }
        guard response.status == 200 || response.status == 201 || response.status == 204 else {
            throw Self.datastoreError("PUT", file, response)
        }
    }
}
