os                 = "ubuntu2404"
source_ami_name    = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
source_ami_owner   = "099720109477" # Canonical
root_device_name   = "/dev/sda1"
ssh_username       = "ubuntu"
lxd_source_image   = "images:ubuntu/24.04/cloud"
qemu_base_image    = "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img"
qemu_base_checksum = "file:https://cloud-images.ubuntu.com/noble/current/SHA256SUMS"
