; Presently's Windows installer, made offline with NSIS (Debian's `nsis`) by
; `scripts/package.sh --windows`, which passes:
;   /DVERSION=0.1.0  /DSOURCE=<folder with presently.exe, presently-cli.exe, WebView2Loader.dll,
;   presently.ico>
;   /DOUTFILE=<the installer to write>  /DICON=<icons/icon.ico>  [/DFAST: quicker compression]
;
; For one person (the default, no administrator needed: %LOCALAPPDATA%\Programs\Presently) or
; for everyone on the computer (Program Files). The same on the command line, for IT's
; deployment tools:
;   presently-setup.exe /S [/CurrentUser | /AllUsers] [/NoStartOnLogin] [/D=<folder>]
;   uninstall.exe /S  (from the installed folder; Settings > Apps runs it too)
; The uninstaller removes the program, its shortcuts and its start-on-login entry and leaves the
; person's data (%LOCALAPPDATA%\Presently: the sign-in and the missed-notification center), as
; every app does; docs/install.md says where it is.

; A 64-bit installer for a 64-bit app (Program Files, the registry's own view, no WOW64).
Target amd64-unicode
!ifdef FAST
  SetCompressor zlib           ; debug builds for the tests: quicker to make
!else
  SetCompressor /SOLID lzma
!endif

!ifndef VERSION
  !error "pass /DVERSION=x.y.z"
!endif
!ifndef SOURCE
  !error "pass /DSOURCE=<folder with the built programs>"
!endif
!ifndef OUTFILE
  !define OUTFILE "presently-setup.exe"
!endif

!define APP "Presently"
!define EXE "presently.exe"
!define APP_ID "app.presently.desktop"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Presently"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
; Microsoft's Evergreen WebView2 Runtime, as its documentation says to detect it.
!define WEBVIEW2_CLIENT "Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WEBVIEW2_URL "https://developer.microsoft.com/microsoft-edge/webview2/"

Name "${APP}"
OutFile "${OUTFILE}"
BrandingText "${APP} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT licence"

!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER
!define MULTIUSER_INSTALLMODE_INSTDIR "${APP}"
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${UNINSTALL_KEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${UNINSTALL_KEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallLocation"
!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include x64.nsh

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Open ${APP} now"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Var WebView2

Section "${APP}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "${SOURCE}\${EXE}"
  File "${SOURCE}\presently-cli.exe"
  File "${SOURCE}\WebView2Loader.dll"
  File "${SOURCE}\presently.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Settings > Apps (SHCTX: HKLM for everyone, HKCU for one person, as MultiUser chose).
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayName" "${APP}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "Publisher" "${APP}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${EXE},0"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallMode" "$MultiUser.InstallMode"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "EstimatedSize" $0

  ; Toasts: Windows shows them for an app id it knows, under the name and icon given here
  ; (crates/client/src/notifier.rs names the same id).
  WriteRegStr SHCTX "Software\Classes\AppUserModelId\${APP_ID}" "DisplayName" "${APP}"
  WriteRegStr SHCTX "Software\Classes\AppUserModelId\${APP_ID}" "IconUri" "$INSTDIR\presently.ico"

  ; The Start menu (the all-users one for everyone).
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\${EXE}" "" "$INSTDIR\${EXE}" 0 "" "" "See who is free to talk"
SectionEnd

; The same entry the app's own setting writes and reads (tauri-plugin-autostart: the value
; "Presently" under the installing person's Run key), so Settings shows it and can turn it off.
Section "Start ${APP} when I sign in" SecStartOnLogin
  WriteRegStr HKCU "${RUN_KEY}" "${APP}" '"$INSTDIR\${EXE}" --autostart'
SectionEnd

Function .onInit
  !insertmacro MULTIUSER_INIT
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/NoStartOnLogin" $1
  ${IfNot} ${Errors}
    !insertmacro UnselectSection ${SecStartOnLogin}
  ${EndIf}
FunctionEnd

; The window is Microsoft Edge WebView2, part of Windows 11 and of current Windows 10; an
; older computer may lack it. Then say where to get it (the app cannot open its window without
; it), and go on: IT may install it afterwards.
Function .onInstSuccess
  ReadRegStr $WebView2 HKLM "SOFTWARE\WOW6432Node\${WEBVIEW2_CLIENT}" "pv"
  ${If} $WebView2 == ""
  ${OrIf} $WebView2 == "0.0.0.0"
    ReadRegStr $WebView2 HKCU "Software\${WEBVIEW2_CLIENT}" "pv"
  ${EndIf}
  ${If} $WebView2 == ""
  ${OrIf} $WebView2 == "0.0.0.0"
    SetOutPath "$INSTDIR"
    FileOpen $0 "$INSTDIR\WEBVIEW2-MISSING.txt" w
    FileWrite $0 "${APP} needs the Microsoft Edge WebView2 Runtime to show its window, and it is not installed on this computer.$\r$\nGet the Evergreen Runtime from ${WEBVIEW2_URL}$\r$\n"
    FileClose $0
    ${IfNot} ${Silent}
      MessageBox MB_YESNO|MB_ICONEXCLAMATION "${APP} needs the Microsoft Edge WebView2 Runtime to show its window, and it is not installed on this computer.$\n$\nOpen Microsoft's download page now (get the Evergreen Runtime)?" IDNO +2
      ExecShell "open" "${WEBVIEW2_URL}"
    ${EndIf}
  ${EndIf}
FunctionEnd

Section "Uninstall"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\presently-cli.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\presently.ico"
  Delete "$INSTDIR\WEBVIEW2-MISSING.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP}.lnk"
  ; Only the entry that starts this installation (another copy's stays).
  ReadRegStr $0 HKCU "${RUN_KEY}" "${APP}"
  ${If} $0 == '"$INSTDIR\${EXE}" --autostart'
  ${OrIf} $0 == "$INSTDIR\${EXE} --autostart"
  ${OrIf} $0 == "$INSTDIR\${EXE} "
    DeleteRegValue HKCU "${RUN_KEY}" "${APP}"
  ${EndIf}
  DeleteRegKey SHCTX "Software\Classes\AppUserModelId\${APP_ID}"
  DeleteRegKey SHCTX "${UNINSTALL_KEY}"
SectionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd
