; Inno Setup script: a Windows installer around the same PyInstaller one-folder bundle.
; Build on Windows (see packaging/README.md):
;   uv run python packaging\windows\make_ico.py
;   uv run pyinstaller --noconfirm --distpath packaging\out\dist --workpath packaging\out\build packaging\dispatchdesk.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\dispatchdesk.iss
; Output: packaging\out\DispatchDesk-Setup-<version>.exe (per-machine install, Start menu entry).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6B7C1F5E-3D0A-4C8E-9E43-1D2F9A0B7C11}
AppName=Dispatch Desk
AppVersion={#AppVersion}
AppPublisher=Dispatch Desk maintainers
DefaultDirName={autopf}\Dispatch Desk
DefaultGroupName=Dispatch Desk
PrivilegesRequired=admin
ArchitecturesInstallIn64BitMode=x64compatible
ArchitecturesAllowed=x64compatible
OutputDir=..\out
OutputBaseFilename=DispatchDesk-Setup-{#AppVersion}
SetupIconFile=dispatchdesk.ico
UninstallDisplayIcon={app}\dispatchdesk.exe
Compression=lzma2
SolidCompression=yes
LicenseFile=..\..\resources\icons\LICENSE

[Files]
Source: "..\out\dist\dispatchdesk\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion
Source: "..\linux\config.toml.example"; DestDir: "{app}\doc"; Flags: ignoreversion

[Icons]
Name: "{group}\Dispatch Desk"; Filename: "{app}\dispatchdesk.exe"
Name: "{autodesktop}\Dispatch Desk"; Filename: "{app}\dispatchdesk.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\dispatchdesk.exe"; Description: "Start Dispatch Desk"; Flags: nowait postinstall skipifsilent
