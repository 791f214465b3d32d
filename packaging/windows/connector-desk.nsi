; Windows installer for Connector Desk (NSIS 3). Per-user: no administrator rights, installs to
; %LOCALAPPDATA%\Programs\Connector Desk, a Start-menu shortcut, an uninstaller registered under
; HKCU so "Apps & features" lists it, and a version resource on the installer itself.
;
;   makensis -DVERSION=0.1.0 -DBUNDLE=dist\connector-desk -DOUTFILE=dist\ConnectorDesk-0.1.0-setup.exe \
;            packaging\windows\connector-desk.nsi
; BUNDLE is the PyInstaller one-folder build (connector-desk.exe and _internal\), an absolute path:
; makensis works from this file's folder, so relative paths (the icon) are relative to it.

Unicode true
!include "MUI2.nsh"

!ifndef VERSION
  !error "define VERSION (-DVERSION=x.y.z)"
!endif
!ifndef BUNDLE
  !error "define BUNDLE (-DBUNDLE=path to the PyInstaller folder)"
!endif
!ifndef OUTFILE
  !define OUTFILE "ConnectorDesk-${VERSION}-setup.exe"
!endif

!define APPNAME "Connector Desk"
!define APPKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\ConnectorDesk"

Name "${APPNAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APPNAME}"
InstallDirRegKey HKCU "Software\ConnectorDesk" "InstallDir"
RequestExecutionLevel user
SetCompressor /SOLID lzma

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APPNAME} installer"
VIAddVersionKey "CompanyName" "Connector Desk"
VIAddVersionKey "LegalCopyright" "Connector Desk"

!define MUI_ICON "../icons/connector-desk.ico"
!define MUI_UNICON "../icons/connector-desk.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\connector-desk.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Install"
  SetOutPath "$INSTDIR"
  ; A previous version's files go first, so nothing stale stays behind.
  RMDir /r "$INSTDIR\_internal"
  File /r "${BUNDLE}/*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\connector-desk.exe" "" "$INSTDIR\connector-desk.exe" 0
  WriteRegStr HKCU "Software\ConnectorDesk" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${APPKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKCU "${APPKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${APPKEY}" "Publisher" "Connector Desk"
  WriteRegStr HKCU "${APPKEY}" "DisplayIcon" "$INSTDIR\connector-desk.exe"
  WriteRegStr HKCU "${APPKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${APPKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${APPKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${APPKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${APPKEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  ; Connectors (%LOCALAPPDATA%\connector-desk) and keychain entries are the administrator's data:
  ; the uninstaller leaves them, as the README says.
  Delete "$SMPROGRAMS\${APPNAME}.lnk"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\connector-desk.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${APPKEY}"
  DeleteRegKey HKCU "Software\ConnectorDesk"
SectionEnd
