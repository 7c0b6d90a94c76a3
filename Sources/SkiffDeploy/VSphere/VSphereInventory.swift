// Finding what a deploy needs in a vCenter's or ESXi host's inventory: the datacenter, a
// datastore, the compute resource (host or cluster) and its resource pool, the VM folder, networks
// (standard port groups, distributed port groups) and VMs, by name or by inventory path. The whole
// inventory's names and parents are read once (a ContainerView over the root folder) so that
// errors can list what is there.

/// One managed entity: its reference, name and parent.
public struct InventoryEntity: Equatable, Sendable {
    public var reference: ManagedObjectReference
    public var name: String
    public var parent: ManagedObjectReference?
}

/// The entities of the inventory, with their paths (`DC0/host/DC0_C0/Resources`).
public struct InventoryTree: Sendable {
    public private(set) var entities: [ManagedObjectReference: InventoryEntity] = [:]
    /// In the order the server listed them.
    public private(set) var order: [ManagedObjectReference] = []

    public init(_ entities: [InventoryEntity]) {
        for entity in entities where self.entities[entity.reference] == nil {
            self.entities[entity.reference] = entity
            order.append(entity.reference)
        }
    }

    /// The inventory path of an entity: the names from below the root folder down to it, joined by
    /// `/` (a `/` inside a name is written `%2f`, as vSphere's inventory paths do). nil for the
    /// root folder itself or an entity whose chain of parents is broken.
    public func path(of reference: ManagedObjectReference) -> String? {
        var names: [String] = []
        var current: ManagedObjectReference? = reference
        var steps = 0
        while let ref = current, let entity = entities[ref] {
            steps += 1
            if steps > 1_000 { return nil }  // a cycle: a broken reply
            guard entity.parent != nil else { break }  // the root folder has no name in paths
            names.append(Self.escapeName(entity.name))
            current = entity.parent
        }
        guard current != nil, !names.isEmpty else { return nil }
        return names.reversed().joined(separator: "/")
    }

    /// Whether `ancestor` is on the chain of parents of `reference` (or is it).
    public func isUnder(_ reference: ManagedObjectReference, _ ancestor: ManagedObjectReference) -> Bool {
        var current: ManagedObjectReference? = reference
        var steps = 0
        while let ref = current, steps < 1_000 {
            if ref == ancestor { return true }
            current = entities[ref]?.parent
            steps += 1
        }
        return false
    }

    /// The entities of these types below `ancestor`, in listing order.
    public func all(_ types: Set<String>, under ancestor: ManagedObjectReference) -> [InventoryEntity] {
        order.compactMap { entities[$0] }.filter { types.contains($0.reference.type) && isUnder($0.reference, ancestor) }
    }

    /// `/` and `%` in names as inventory paths write them.
    public static func escapeName(_ name: String) -> String {
        var out = ""
        for character in name {
            switch character {
            case "%": out += "%25"
            case "/": out += "%2f"
            case "\\": out += "%5c"
            default: out.append(character)
            }
        }
        return out
    }
}

/// A datacenter and the folders and datastores in it.
public struct VSphereDatacenter: Sendable {
    public var reference: ManagedObjectReference
    public var name: String
    /// Its inventory path (`DC0`, or `Folder/DC1` for a datacenter in a folder): the `dcPath` of
    /// datastore URLs.
    public var path: String
    public var vmFolder: ManagedObjectReference
    public var hostFolder: ManagedObjectReference
    public var networkFolder: ManagedObjectReference
    public var datastoreFolder: ManagedObjectReference
}

/// A network a NIC can be on.
public enum VSphereNetwork: Equatable, Sendable {
    /// A standard port group (`Network`) or an opaque network.
    case standard(reference: ManagedObjectReference, name: String)
    /// A distributed port group: the backing names the switch's uuid and the port group's key.
    case distributed(reference: ManagedObjectReference, name: String, switchUUID: String, portgroupKey: String)

    public var name: String {
        switch self {
        case .standard(_, let name), .distributed(_, let name, _, _): return name
        }
    }

    public var reference: ManagedObjectReference {
        switch self {
        case .standard(let reference, _), .distributed(let reference, _, _, _): return reference
        }
    }
}

/// Where a new VM's CPU and memory come from.
public struct VSphereCompute: Equatable, Sendable {
    /// A ComputeResource or ClusterComputeResource.
    public var computeResource: ManagedObjectReference
    public var pool: ManagedObjectReference
    /// Set when the user named a host (CreateVM_Task's `host`).
    public var host: ManagedObjectReference?
    /// How messages name it: the path below the datacenter's host folder.
    public var label: String
    /// Said when a default was chosen among several.
    public var note: String? = nil
}

public final class VSphereInventory {
    public let session: VSphereSession
    public let tree: InventoryTree

    static let entityTypes: Set<String> = [
        "Folder", "Datacenter", "Datastore", "StoragePod", "Network", "DistributedVirtualPortgroup", "OpaqueNetwork",
        "VmwareDistributedVirtualSwitch", "DistributedVirtualSwitch", "ComputeResource", "ClusterComputeResource",
        "HostSystem", "ResourcePool", "VirtualApp", "VirtualMachine",
    ]

    /// Reads every entity's name and parent.
    public init(session: VSphereSession) throws(DeployError) {
        self.session = session
        let objects = try session.properties(ofAll: "ManagedEntity", in: session.content.rootFolder, ["name", "parent"])
        var entities = objects.map { object in
            InventoryEntity(reference: object.object, name: object.text("name") ?? "", parent: object.reference("parent"))
        }
        // The root folder is not in its own view.
        if !entities.contains(where: { $0.reference == session.content.rootFolder }) {
            entities.append(InventoryEntity(reference: session.content.rootFolder, name: "", parent: nil))
        }
        tree = InventoryTree(entities)
    }

    /// Names for an error message: `DC0_H0, DC0_C0` (at most 12, then `...`).
    static func listing(_ names: [String]) -> String {
        guard !names.isEmpty else { return "none" }
        let shown = names.prefix(12).joined(separator: ", ")
        return names.count > 12 ? shown + ", ... (\(names.count) in all)" : shown
    }

    /// Candidates of these types under `scope` matching `given`: an inventory path below the
    /// datacenter (`host/DC0_C0`), below `scope` (`DC0_C0/Resources`), a full path (`DC0/host/...`,
    /// a leading `/` allowed), or just a name.
    func match(_ given: String, types: Set<String>, under scope: ManagedObjectReference, datacenter: VSphereDatacenter) -> [InventoryEntity] {
        let candidates = tree.all(types, under: scope)
        var text = given
        while text.hasPrefix("/") { text.removeFirst() }
        while text.hasSuffix("/") && text.count > 1 { text.removeLast() }
        let scopePath = tree.path(of: scope)
        let byPath = candidates.filter { entity in
            guard let path = tree.path(of: entity.reference) else { return false }
            if path == text || path == datacenter.path + "/" + text { return true }
            if let scopePath, path == scopePath + "/" + text { return true }
            return false
        }
        if !byPath.isEmpty { return byPath }
        return candidates.filter { $0.name == given }
    }

    func relativePath(_ reference: ManagedObjectReference, below scope: ManagedObjectReference) -> String {
        guard let path = tree.path(of: reference) else { return tree.entities[reference]?.name ?? reference.value }
        if let scopePath = tree.path(of: scope), path.hasPrefix(scopePath + "/") { return String(path.dropFirst(scopePath.count + 1)) }
        return path
    }

    // MARK: Datacenter

    /// By name or path; without one, the only datacenter (an error lists them when there are
    /// several).
    public func datacenter(_ given: String?, flag: String = "--datacenter") throws(DeployError) -> VSphereDatacenter {
        let all = tree.all(["Datacenter"], under: session.content.rootFolder)
        let names = all.map { tree.path(of: $0.reference) ?? $0.name }
        let chosen: InventoryEntity
        if let given {
            var text = given
            while text.hasPrefix("/") { text.removeFirst() }
            let found = all.filter { tree.path(of: $0.reference) == text }
            let byName = found.isEmpty ? all.filter { $0.name == given } : found
            guard let first = byName.first else {
                throw .failure("\(flag) \(given): no datacenter of that name (there are: \(Self.listing(names)))")
            }
            guard byName.count == 1 else {
                throw .failure("\(flag) \(given): several datacenters have that name (\(Self.listing(byName.map { tree.path(of: $0.reference) ?? $0.name }))); give its path")
            }
            chosen = first
        } else {
            guard let first = all.first else { throw .failure("vSphere: the inventory has no datacenter") }
            guard all.count == 1 else {
                throw .failure("\(flag): several datacenters (\(Self.listing(names))); name one with \(flag) or GOVC_DATACENTER")
            }
            chosen = first
        }
        guard let properties = try session.properties(of: chosen.reference, ["vmFolder", "hostFolder", "networkFolder", "datastoreFolder"]),
              let vm = properties.reference("vmFolder"), let host = properties.reference("hostFolder"),
              let network = properties.reference("networkFolder"), let datastore = properties.reference("datastoreFolder")
        else {
            throw .failure("vSphere: cannot read the folders of datacenter \(chosen.name)")
        }
        return VSphereDatacenter(reference: chosen.reference, name: chosen.name, path: tree.path(of: chosen.reference) ?? chosen.name,
                                 vmFolder: vm, hostFolder: host, networkFolder: network, datastoreFolder: datastore)
    }

    // MARK: Datastore

    /// By name (or path below the datastore folder); without one, the datacenter's only datastore.
    public func datastore(_ given: String?, in datacenter: VSphereDatacenter, flag: String = "--datastore") throws(DeployError) -> (reference: ManagedObjectReference, name: String) {
        let all = tree.all(["Datastore"], under: datacenter.reference)
        let names = all.map(\.name)
        guard let given else {
            guard let only = all.first else { throw .failure("\(flag): datacenter \(datacenter.name) has no datastore") }
            guard all.count == 1 else {
                throw .failure("\(flag): several datastores in datacenter \(datacenter.name) (\(Self.listing(names))); name one with \(flag) or GOVC_DATASTORE")
            }
            return (only.reference, only.name)
        }
        let found = match(given, types: ["Datastore"], under: datacenter.datastoreFolder, datacenter: datacenter)
        guard let first = found.first else {
            throw .failure("\(flag) \(given): no datastore of that name in datacenter \(datacenter.name) (there are: \(Self.listing(names)))")
        }
        return (first.reference, first.name)
    }

    // MARK: Networks

    /// A standard or distributed port group by name or path below the network folder.
    public func network(_ given: String, in datacenter: VSphereDatacenter, flag: String = "--network") throws(DeployError) -> VSphereNetwork {
        let types: Set<String> = ["Network", "DistributedVirtualPortgroup", "OpaqueNetwork"]
        let all = tree.all(types, under: datacenter.networkFolder)
        let found = match(given, types: types, under: datacenter.networkFolder, datacenter: datacenter)
        guard let first = found.first else {
            throw .failure("\(flag) \(given): no network of that name in datacenter \(datacenter.name) (there are: \(Self.listing(all.map { relativePath($0.reference, below: datacenter.networkFolder) })))")
        }
        guard found.count == 1 else {
            throw .failure("\(flag) \(given): several networks have that name (\(Self.listing(found.map { relativePath($0.reference, below: datacenter.networkFolder) }))); give its path below \(datacenter.name)/network")
        }
        guard first.reference.type == "DistributedVirtualPortgroup" else {
            return .standard(reference: first.reference, name: first.name)
        }
        guard let portgroup = try session.properties(of: first.reference, ["key", "config.distributedVirtualSwitch", "tag"]),
              let key = portgroup.text("key"), !key.isEmpty,
              let dvs = portgroup.reference("config.distributedVirtualSwitch")
        else {
            throw .failure("\(flag) \(given): cannot read the distributed port group's key and switch")
        }
        // vCenter tags the switch's uplink port group; no VM NIC can connect to it.
        if portgroup.properties["tag"]?.children.contains(where: { $0.child("key")?.text.trimmingXMLSpace == "SYSTEM/DVS.UPLINKPG" }) == true {
            throw .usage("\(flag) \(given): the distributed switch's uplink port group, which VMs cannot use; name a VM port group")
        }
        guard let uuid = try session.properties(of: dvs, ["uuid"])?.text("uuid"), !uuid.isEmpty else {
            throw .failure("\(flag) \(given): cannot read the uuid of its distributed switch \(dvs.value)")
        }
        return .distributed(reference: first.reference, name: first.name, switchUUID: uuid, portgroupKey: key)
    }

    // MARK: Compute

    /// `--host`: a host, a standalone host's compute resource or a cluster; `--pool`: a resource
    /// pool by path (below the datacenter's host folder, or a full path). Without either, the
    /// datacenter's only compute resource.
    public func compute(host: String?, pool: String?, in datacenter: VSphereDatacenter) throws(DeployError) -> VSphereCompute {
        let computeTypes: Set<String> = ["ComputeResource", "ClusterComputeResource"]
        let resources = tree.all(computeTypes, under: datacenter.hostFolder)
        let resourceNames = resources.map { relativePath($0.reference, below: datacenter.hostFolder) }
        var chosenHost: ManagedObjectReference? = nil
        var computeResource: ManagedObjectReference? = nil
        if let host {
            let found = match(host, types: computeTypes.union(["HostSystem"]), under: datacenter.hostFolder, datacenter: datacenter)
            // A standalone host's compute resource and its host have the same name: take the resource.
            let preferred = found.filter { computeTypes.contains($0.reference.type) }
            let candidates = preferred.isEmpty ? found : preferred
            guard let first = candidates.first else {
                let hosts = tree.all(["HostSystem"], under: datacenter.hostFolder).map(\.name)
                throw .failure("--host \(host): no host or cluster of that name in datacenter \(datacenter.name) (clusters and hosts: \(Self.listing(resourceNames + hosts.filter { !resourceNames.contains($0) })))")
            }
            guard candidates.count == 1 else {
                throw .failure("--host \(host): several hosts or clusters have that name (\(Self.listing(candidates.map { relativePath($0.reference, below: datacenter.hostFolder) }))); give its path")
            }
            if first.reference.type == "HostSystem" {
                chosenHost = first.reference
                computeResource = first.parent
            } else {
                computeResource = first.reference
            }
        }
        var poolReference: ManagedObjectReference? = nil
        var label = ""
        if let pool {
            let poolTypes: Set<String> = ["ResourcePool", "VirtualApp"]
            let scope = computeResource ?? datacenter.hostFolder
            let found = match(pool, types: poolTypes, under: scope, datacenter: datacenter)
            guard let first = found.first else {
                let pools = tree.all(poolTypes, under: scope).map { relativePath($0.reference, below: datacenter.hostFolder) }
                throw .failure("--pool \(pool): no resource pool at that path in datacenter \(datacenter.name) (there are: \(Self.listing(pools)))")
            }
            guard found.count == 1 else {
                throw .failure("--pool \(pool): several resource pools have that name (\(Self.listing(found.map { relativePath($0.reference, below: datacenter.hostFolder) }))); give its path, e.g. \(relativePath(first.reference, below: datacenter.hostFolder))")
            }
            poolReference = first.reference
            label = relativePath(first.reference, below: datacenter.hostFolder)
            if computeResource == nil {
                // The pool's compute resource: the first ancestor of a compute type.
                var current = first.parent
                while let ref = current, !computeTypes.contains(ref.type) { current = tree.entities[ref]?.parent }
                computeResource = current
            }
        }
        var note: String? = nil
        if computeResource == nil {
            guard let first = resources.first else { throw .failure("--host: datacenter \(datacenter.name) has no hosts or clusters") }
            // Several: the first cluster (DRS places the VM), else the first standalone host.
            let chosen = resources.first { $0.reference.type == "ClusterComputeResource" } ?? first
            if resources.count > 1 {
                note = "no --host: using \(relativePath(chosen.reference, below: datacenter.hostFolder)) of \(Self.listing(resourceNames)) (--host or GOVC_HOST chooses)"
            }
            computeResource = chosen.reference
        }
        guard let computeResource else { throw .failure("--pool \(pool ?? ""): the resource pool belongs to no host or cluster") }
        if poolReference == nil {
            guard let root = try session.properties(of: computeResource, ["resourcePool"])?.reference("resourcePool") else {
                throw .failure("--host \(host ?? relativePath(computeResource, below: datacenter.hostFolder)): it has no resource pool")
            }
            poolReference = root
            label = relativePath(chosenHost ?? computeResource, below: datacenter.hostFolder)
        }
        guard let poolReference else { throw .failure("--pool: no resource pool") }
        return VSphereCompute(computeResource: computeResource, pool: poolReference, host: chosenHost, label: label, note: note)
    }

    // MARK: Folders and VMs

    /// `--vm-folder`: a folder by path below the datacenter's vm folder (or a full path);
    /// default: the vm folder itself.
    public func vmFolder(_ given: String?, in datacenter: VSphereDatacenter) throws(DeployError) -> (reference: ManagedObjectReference, path: String) {
        guard let given else {
            return (datacenter.vmFolder, tree.path(of: datacenter.vmFolder) ?? datacenter.name + "/vm")
        }
        let found = match(given, types: ["Folder"], under: datacenter.vmFolder, datacenter: datacenter)
            .filter { $0.reference != datacenter.vmFolder || given == "vm" || given.hasSuffix("/vm") }
        guard let first = found.first else {
            let folders = tree.all(["Folder"], under: datacenter.vmFolder).filter { $0.reference != datacenter.vmFolder }
                .map { relativePath($0.reference, below: datacenter.vmFolder) }
            throw .failure("--vm-folder \(given): no folder of that name below \(datacenter.name)/vm (there are: \(Self.listing(folders)))")
        }
        guard found.count == 1 else {
            throw .failure("--vm-folder \(given): several folders have that name (\(Self.listing(found.map { tree.path(of: $0.reference) ?? $0.name }))); give its path")
        }
        return (first.reference, tree.path(of: first.reference) ?? given)
    }

    /// The VMs named `name` (or at that path) in the datacenter (or below `folder`).
    public func virtualMachines(_ name: String, in datacenter: VSphereDatacenter, folder: ManagedObjectReference? = nil) -> [InventoryEntity] {
        match(name, types: ["VirtualMachine"], under: folder ?? datacenter.vmFolder, datacenter: datacenter)
    }

    /// Exactly one VM by name or path, for stop and rm.
    public func virtualMachine(_ name: String, in datacenter: VSphereDatacenter, folder: ManagedObjectReference? = nil) throws(DeployError) -> InventoryEntity {
        let found = virtualMachines(name, in: datacenter, folder: folder)
        guard let first = found.first else {
            throw .failure("\(name): no VM of that name in datacenter \(datacenter.name)")
        }
        guard found.count == 1 else {
            throw .failure("\(name): several VMs have that name (\(Self.listing(found.map { tree.path(of: $0.reference) ?? $0.name }))); give its path below \(datacenter.name)/vm")
        }
        return first
    }

    public func path(of reference: ManagedObjectReference) -> String {
        tree.path(of: reference) ?? reference.value
    }
}
