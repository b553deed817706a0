"""Volume selection on Windows and Linux."""

from __future__ import annotations

from collections import namedtuple

from agent.checks.host import fixed_volumes, volume_label

Part = namedtuple("Part", "device mountpoint fstype opts")


def test_fixed_volumes_on_windows_keep_fixed_drives_only():
    parts = [
        Part("C:\\", "C:\\", "NTFS", "rw,fixed"),
        Part("D:\\", "D:\\", "NTFS", "rw,fixed"),
        Part("E:\\", "E:\\", "", "cdrom"),
        Part("F:\\", "F:\\", "FAT32", "rw,removable"),
        Part("Z:\\", "Z:\\", "NTFS", "rw,remote"),
    ]
    assert fixed_volumes(parts, windows=True) == [("C:\\", "C:\\"), ("D:\\", "D:\\")]
    assert [volume_label(m) for _, m in fixed_volumes(parts, windows=True)] == ["C:", "D:"]


def test_fixed_volumes_on_linux_skip_pseudo_removable_and_duplicates():
    parts = [
        Part("/dev/sda2", "/", "ext4", "rw"),
        Part("/dev/sda1", "/boot/efi", "vfat", "rw"),
        Part("/dev/loop3", "/snap/core/1", "squashfs", "ro"),
        Part("/dev/sdb1", "/media/usb", "vfat", "rw"),
        Part("/dev/sda2", "/var/lib/docker", "ext4", "rw"),  # bind mount of the same device
        Part("tmpfs", "/run", "tmpfs", "rw"),
    ]
    result = fixed_volumes(parts, windows=False, is_removable=lambda dev: dev == "/dev/sdb1")
    assert result == [("/dev/sda2", "/"), ("/dev/sda1", "/boot/efi")]
    assert volume_label("/") == "/"
