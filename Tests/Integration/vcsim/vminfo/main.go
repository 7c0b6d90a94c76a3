// vminfo reads a virtual machine back through the vSphere API with govmomi's own client (Debian:
// golang-github-vmware-govmomi-dev), as an independent checker for Skiff's deploy tests: Skiff speaks
// SOAP with its own code, this program with govmomi's. Built by vcsim_build_vminfo in
// Tests/Integration/vcsim.bash; see ../README.md.
//
//	vminfo vm NAME     the VM's state and devices, one fact per line (below); exit 3 if no VM has
//	                   that name, 4 if several do
//	vminfo vms         every VM's name, sorted, one per line
//	vminfo sessions    every session but its own, `session USER agent=USER-AGENT`, sorted (a client
//	                   that logged out leaves none)
//	vminfo set NAME KEY VALUE
//	                   plays the guest: sets config.extraConfig KEY (e.g. guestinfo.ip, what Skiff's
//	                   kernel publishes over the backdoor; the simulator's SET.guest.ipAddress sets
//	                   guest.ipAddress as VMware Tools would) with ReconfigVM_Task
//
// The connection comes from the environment only (the password never on a command line):
// VCSIM_URL (https://HOST:PORT/sdk), VCSIM_USERNAME, VCSIM_PASSWORD, and VCSIM_CERT (a PEM file of
// CA certificates) or VCSIM_SHA1 (the server certificate's SHA-1 thumbprint, AA:BB:...).
//
// `vm NAME` prints, in this order (values after `=` run to the next ` key=` or the line's end):
//
//	name NAME
//	moref vm-NN
//	power poweredOn|poweredOff|suspended
//	vmPathName [DS] path
//	guestId ID
//	numCPU N
//	memoryMB N
//	version vmx-NN
//	host HOST-NAME                               (runtime.host)
//	pool POOL-NAME owner=COMPUTE-RESOURCE-NAME   (the VM's resource pool)
//	boot ORDER                                   (only when the VM has a boot order: cdrom,disk:KEY,...)
//	nic vmxnet3 network=NAME mac=MAC             (NAME: the Network's or port group's name;
//	                                              a DV port adds ` switch=DVS-NAME`)
//	cdrom iso=[DS] path connected=BOOL startConnected=BOOL controller=TYPE
//	disk capacityKB=N file=[DS] path controller=TYPE unit=N mode=MODE
//	serial file=[DS] path
//	device TYPE key=N                            (every other device: controllers, keyboard, ...)
//
// A backing of another kind prints `backing=TYPE` in place of the file (`cdrom backing=...`).
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func fatal(status int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vminfo: "+format+"\n", args...)
	os.Exit(status)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vminfo vm NAME | vms | sessions | set NAME KEY VALUE   (connection from VCSIM_URL, VCSIM_USERNAME,")
	fmt.Fprintln(os.Stderr, "       VCSIM_PASSWORD, and VCSIM_CERT or VCSIM_SHA1)")
	os.Exit(2)
}

func connect(ctx context.Context) (*vim25.Client, *session.Manager) {
	rawURL := os.Getenv("VCSIM_URL")
	if rawURL == "" {
		fatal(2, "VCSIM_URL is not set")
	}
	u, err := soap.ParseURL(rawURL)
	if err != nil {
		fatal(2, "VCSIM_URL: %v", err)
	}
	u.User = nil
	sc := soap.NewClient(u, false)
	if ca := os.Getenv("VCSIM_CERT"); ca != "" {
		if err := sc.SetRootCAs(ca); err != nil {
			fatal(2, "VCSIM_CERT: %v", err)
		}
	} else if sha1 := os.Getenv("VCSIM_SHA1"); sha1 != "" {
		sc.SetThumbprint(u.Host, sha1)
	} else {
		fatal(2, "set VCSIM_CERT or VCSIM_SHA1 to verify the server's certificate")
	}
	client, err := vim25.NewClient(ctx, sc)
	if err != nil {
		fatal(1, "connecting to %s: %v", u, err)
	}
	manager := session.NewManager(client)
	user := url.UserPassword(os.Getenv("VCSIM_USERNAME"), os.Getenv("VCSIM_PASSWORD"))
	if err := manager.Login(ctx, user); err != nil {
		fatal(1, "login to %s: %v", u, err)
	}
	return client, manager
}

// properties reads the given properties of every managed entity of the given types (the simulator's
// container views match types exactly, so subtypes must be named too), keyed by reference.
func properties(ctx context.Context, client *vim25.Client, kinds []string, props []string) map[types.ManagedObjectReference]map[string]interface{} {
	container, err := view.NewManager(client).CreateContainerView(ctx, client.ServiceContent.RootFolder, kinds, true)
	if err != nil {
		fatal(1, "CreateContainerView %v: %v", kinds, err)
	}
	defer container.Destroy(ctx)
	var contents []types.ObjectContent
	if err := container.Retrieve(ctx, kinds, props, &contents); err != nil {
		fatal(1, "retrieving %v of %v: %v", props, kinds, err)
	}
	result := make(map[types.ManagedObjectReference]map[string]interface{}, len(contents))
	for _, content := range contents {
		values := make(map[string]interface{}, len(content.PropSet))
		for _, prop := range content.PropSet {
			values[prop.Name] = prop.Val
		}
		result[content.Obj] = values
	}
	return result
}

// names maps every managed entity of the given types to its name.
func names(ctx context.Context, client *vim25.Client, kinds []string) map[types.ManagedObjectReference]string {
	result := make(map[types.ManagedObjectReference]string)
	for ref, values := range properties(ctx, client, kinds, []string{"name"}) {
		name, _ := values["name"].(string)
		result[ref] = name
	}
	return result
}

func vmsNamed(ctx context.Context, client *vim25.Client, name string) []types.ManagedObjectReference {
	var found []types.ManagedObjectReference
	for ref, vmName := range names(ctx, client, []string{"VirtualMachine"}) {
		if vmName == name {
			found = append(found, ref)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Value < found[j].Value })
	return found
}

func listVMs(ctx context.Context, client *vim25.Client) {
	var all []string
	for _, name := range names(ctx, client, []string{"VirtualMachine"}) {
		all = append(all, name)
	}
	sort.Strings(all)
	for _, name := range all {
		fmt.Println(name)
	}
}

// deviceType: VirtualVmxnet3 → vmxnet3, ParaVirtualSCSIController → pvscsi, VirtualCdrom → cdrom.
func deviceType(devices object.VirtualDeviceList, device types.BaseVirtualDevice) string {
	if _, ok := device.(types.BaseVirtualEthernetCard); ok {
		return strings.ToLower(strings.TrimPrefix(devices.TypeName(device), "Virtual"))
	}
	return devices.Type(device)
}

func backingType(backing types.BaseVirtualDeviceBackingInfo) string {
	if backing == nil {
		return "none"
	}
	return fmt.Sprintf("%T", backing)[len("*types."):]
}

func controllerOf(devices object.VirtualDeviceList, device *types.VirtualDevice) string {
	controller := devices.FindByKey(device.ControllerKey)
	if controller == nil {
		return fmt.Sprintf("missing(key %d)", device.ControllerKey)
	}
	return deviceType(devices, controller)
}

// dumpVM prints the VM's facts and returns the exit status.
func dumpVM(ctx context.Context, client *vim25.Client, name string) int {
	refs := vmsNamed(ctx, client, name)
	if len(refs) == 0 {
		fmt.Fprintf(os.Stderr, "no VM named %s\n", name)
		return 3
	}
	if len(refs) > 1 {
		values := make([]string, len(refs))
		for i, ref := range refs {
			values[i] = ref.Value
		}
		fmt.Fprintf(os.Stderr, "%d VMs named %s: %s\n", len(refs), name, strings.Join(values, " "))
		return 4
	}
	collector := property.DefaultCollector(client)
	var vm mo.VirtualMachine
	if err := collector.RetrieveOne(ctx, refs[0], []string{"name", "config", "runtime.powerState", "runtime.host", "resourcePool"}, &vm); err != nil {
		fatal(1, "retrieving %s: %v", refs[0].Value, err)
	}
	if vm.Config == nil {
		fatal(1, "%s (%s) has no config", name, refs[0].Value)
	}
	networks := names(ctx, client, []string{"Network", "DistributedVirtualPortgroup", "OpaqueNetwork"})
	switches := make(map[string]string) // uuid → name
	if client.IsVC() {
		for _, values := range properties(ctx, client, []string{"DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch"}, []string{"name", "uuid"}) {
			uuid, _ := values["uuid"].(string)
			name, _ := values["name"].(string)
			switches[uuid] = name
		}
	}

	config := vm.Config
	fmt.Printf("name %s\n", vm.Name)
	fmt.Printf("moref %s\n", vm.Self.Value)
	fmt.Printf("power %s\n", vm.Runtime.PowerState)
	fmt.Printf("vmPathName %s\n", config.Files.VmPathName)
	fmt.Printf("guestId %s\n", config.GuestId)
	fmt.Printf("numCPU %d\n", config.Hardware.NumCPU)
	fmt.Printf("memoryMB %d\n", config.Hardware.MemoryMB)
	fmt.Printf("version %s\n", config.Version)
	if vm.Runtime.Host != nil {
		var host mo.HostSystem
		if err := collector.RetrieveOne(ctx, *vm.Runtime.Host, []string{"name"}, &host); err != nil {
			fatal(1, "retrieving %s: %v", vm.Runtime.Host.Value, err)
		}
		fmt.Printf("host %s\n", host.Name)
	}
	if vm.ResourcePool != nil {
		var pool mo.ResourcePool
		if err := collector.RetrieveOne(ctx, *vm.ResourcePool, []string{"name", "owner"}, &pool); err != nil {
			fatal(1, "retrieving %s: %v", vm.ResourcePool.Value, err)
		}
		var owner mo.ManagedEntity
		if err := collector.RetrieveOne(ctx, pool.Owner, []string{"name"}, &owner); err != nil {
			fatal(1, "retrieving %s: %v", pool.Owner.Value, err)
		}
		fmt.Printf("pool %s owner=%s\n", pool.Name, owner.Name)
	}
	if config.BootOptions != nil && len(config.BootOptions.BootOrder) > 0 {
		order := make([]string, 0, len(config.BootOptions.BootOrder))
		for _, item := range config.BootOptions.BootOrder {
			switch boot := item.(type) {
			case *types.VirtualMachineBootOptionsBootableCdromDevice:
				order = append(order, "cdrom")
			case *types.VirtualMachineBootOptionsBootableDiskDevice:
				order = append(order, fmt.Sprintf("disk:%d", boot.DeviceKey))
			case *types.VirtualMachineBootOptionsBootableEthernetDevice:
				order = append(order, fmt.Sprintf("ethernet:%d", boot.DeviceKey))
			case *types.VirtualMachineBootOptionsBootableFloppyDevice:
				order = append(order, "floppy")
			default:
				order = append(order, fmt.Sprintf("%T", item))
			}
		}
		fmt.Printf("boot %s\n", strings.Join(order, ","))
	}

	devices := object.VirtualDeviceList(config.Hardware.Device)
	for _, device := range devices {
		base := device.GetVirtualDevice()
		switch d := device.(type) {
		case types.BaseVirtualEthernetCard:
			card := d.GetVirtualEthernetCard()
			line := "nic " + deviceType(devices, device)
			suffix := ""
			switch backing := base.Backing.(type) {
			case *types.VirtualEthernetCardNetworkBackingInfo:
				network := backing.DeviceName
				if backing.Network != nil {
					if known, ok := networks[*backing.Network]; ok {
						network = known
					} else {
						network = "missing(" + backing.Network.Value + ")"
					}
				}
				line += " network=" + network
			case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
				ref := types.ManagedObjectReference{Type: "DistributedVirtualPortgroup", Value: backing.Port.PortgroupKey}
				network, ok := networks[ref]
				if !ok {
					network = "missing(" + backing.Port.PortgroupKey + ")"
				}
				line += " network=" + network
				dvs, ok := switches[backing.Port.SwitchUuid]
				if !ok {
					dvs = "missing(" + backing.Port.SwitchUuid + ")"
				}
				suffix = " switch=" + dvs
			default:
				line += " backing=" + backingType(base.Backing)
			}
			fmt.Printf("%s mac=%s%s\n", line, card.MacAddress, suffix)
		case *types.VirtualCdrom:
			line := "cdrom"
			if iso, ok := base.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
				line += " iso=" + iso.FileName
			} else {
				line += " backing=" + backingType(base.Backing)
			}
			if c := base.Connectable; c != nil {
				line += fmt.Sprintf(" connected=%t startConnected=%t", c.Connected, c.StartConnected)
			}
			fmt.Printf("%s controller=%s\n", line, controllerOf(devices, base))
		case *types.VirtualDisk:
			line := fmt.Sprintf("disk capacityKB=%d", d.CapacityInKB)
			mode := ""
			if flat, ok := base.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				line += " file=" + flat.FileName
				mode = flat.DiskMode
			} else if file, ok := base.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				line += " file=" + file.GetVirtualDeviceFileBackingInfo().FileName + " backing=" + backingType(base.Backing)
			} else {
				line += " backing=" + backingType(base.Backing)
			}
			unit := int32(-1)
			if base.UnitNumber != nil {
				unit = *base.UnitNumber
			}
			fmt.Printf("%s controller=%s unit=%d mode=%s\n", line, controllerOf(devices, base), unit, mode)
		case *types.VirtualSerialPort:
			if file, ok := base.Backing.(*types.VirtualSerialPortFileBackingInfo); ok {
				fmt.Printf("serial file=%s\n", file.FileName)
			} else {
				fmt.Printf("serial backing=%s\n", backingType(base.Backing))
			}
		default:
			fmt.Printf("device %s key=%d\n", deviceType(devices, device), base.Key)
		}
	}
	return 0
}

// setExtraConfig sets one extraConfig key of the VM named name; returns the exit status.
func setExtraConfig(ctx context.Context, client *vim25.Client, name, key, value string) int {
	refs := vmsNamed(ctx, client, name)
	if len(refs) != 1 {
		fmt.Fprintf(os.Stderr, "no single VM named %s (%d)\n", name, len(refs))
		return 3
	}
	vm := object.NewVirtualMachine(client, refs[0])
	spec := types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}}
	task, err := vm.Reconfigure(ctx, spec)
	if err != nil {
		fatal(1, "ReconfigVM_Task %s: %v", name, err)
	}
	if err := task.Wait(ctx); err != nil {
		fatal(1, "ReconfigVM_Task %s: %v", name, err)
	}
	return 0
}

// listSessions prints every session other than this program's own.
func listSessions(ctx context.Context, client *vim25.Client, manager *session.Manager) {
	own, err := manager.UserSession(ctx)
	if err != nil || own == nil {
		fatal(1, "reading this session: %v", err)
	}
	var sm mo.SessionManager
	if err := property.DefaultCollector(client).RetrieveOne(ctx, *client.ServiceContent.SessionManager, []string{"sessionList"}, &sm); err != nil {
		fatal(1, "retrieving sessionList: %v", err)
	}
	var lines []string
	for _, s := range sm.SessionList {
		if s.Key != own.Key {
			lines = append(lines, fmt.Sprintf("session %s agent=%s", s.UserName, s.UserAgent))
		}
	}
	sort.Strings(lines)
	for _, line := range lines {
		fmt.Println(line)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)

	status := 0
	switch {
	case os.Args[1] == "vm" && len(os.Args) == 3:
		client, manager := connect(ctx)
		status = dumpVM(ctx, client, os.Args[2])
		_ = manager.Logout(ctx)
	case os.Args[1] == "vms" && len(os.Args) == 2:
		client, manager := connect(ctx)
		listVMs(ctx, client)
		_ = manager.Logout(ctx)
	case os.Args[1] == "set" && len(os.Args) == 5:
		client, manager := connect(ctx)
		status = setExtraConfig(ctx, client, os.Args[2], os.Args[3], os.Args[4])
		_ = manager.Logout(ctx)
	case os.Args[1] == "sessions" && len(os.Args) == 2:
		client, manager := connect(ctx)
		listSessions(ctx, client, manager)
		_ = manager.Logout(ctx)
	default:
		usage()
	}
	cancel()
	os.Exit(status)
}
