"""GVLK data: Microsoft's published KMS client setup keys, one table per product release.

Transcribed verbatim (and re-checked key by key against the source text) from:

- WINDOWS_SOURCE: learn.microsoft.com "Key Management Services (KMS) client activation and product keys"
  (MicrosoftDocs/windowsserverdocs WindowsServerDocs/get-started/kms-client-activation-keys.md, ms.date
  10/01/2024), including its "Earlier versions of Windows Server / Windows Client" tabs. The Windows 7
  rows are also in KB 4487266 (WIN7_KB_SOURCE).
- OFFICE_SOURCE: learn.microsoft.com "GVLKs for KMS and Active Directory-based activation of Office,
  Project, and Visio" (MicrosoftDocs/OfficeDocs-DeployOffice office/volume-license-activation/gvlks.md,
  ms.date 09/18/2024): Office LTSC 2024, LTSC 2021, 2019, 2016.
- OFFICE2013_SOURCE / OFFICE2010_SOURCE: Microsoft's retired TechNet pages (now learn.microsoft.com
  previous-versions). Their text is not in our reference store; the keys were checked against three
  independent public copies of those tables (a GitHub README table citing both TechNet URLs, pastebin
  HytDTr3d for 2013, the MAS docs' KMS table), which agree key for key.

Table keys are the Windows `EditionID` (HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\EditionID,
also the word in slmgr's "Name: Windows(R), <EditionID> edition") and, for Office, a short SKU word.
A release that has no row for an edition has no published GVLK for it: the tables are never merged.
"""

from __future__ import annotations

WINDOWS_SOURCE = "https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys"
WIN7_KB_SOURCE = (
    "https://learn.microsoft.com/troubleshoot/windows-client/licensing-and-activation/"
    "activation-failures-not-genuine-notifications-volume-licensed-kms-client"
)
OFFICE_SOURCE = "https://learn.microsoft.com/office/volume-license-activation/gvlks"
OFFICE2013_SOURCE = (
    "https://learn.microsoft.com/previous-versions/office/office-2013-resource-kit/dn385360(v=office.15)"
)
OFFICE2010_SOURCE = "https://learn.microsoft.com/previous-versions/office/office-2010/ee624355(v=office.14)"

# --- Windows client -------------------------------------------------------------------------------
# "Windows 11 and Windows 10 Semi-Annual Channel": one key per edition for every 10/11 GA build.
WINDOWS = {
    "Professional": "W269N-WFGWX-YVC9B-4J6C9-T83GX",
    "ProfessionalN": "MH37W-N47XK-V7XM9-C7227-GCQG9",
    "ProfessionalWorkstation": "NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J",
    "ProfessionalWorkstationN": "9FNHH-K3HBT-3W4TD-6383H-6XYWF",
    "ProfessionalEducation": "6TP4R-GNPTD-KYYHQ-7B7DP-J447Y",
    "ProfessionalEducationN": "YVWGF-BXNMC-HTQYQ-CPQ99-66QFC",
    "Education": "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2",
    "EducationN": "2WH4N-8QGBV-H22JP-CT43Q-MDWWJ",
    "Enterprise": "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "EnterpriseN": "DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4",
    "EnterpriseG": "YYVX9-NTFWV-6MDM3-9PT4T-4M68B",
    "EnterpriseGN": "44RPN-FTY23-9VTTB-MP9BX-T84FV",
}
# "Windows Enterprise LTSC and LTSB" (EnterpriseS = the LTSC/LTSB edition id). Microsoft lists one key for
# Windows 11 LTSC 2024 / Windows 10 LTSC 2021 / 2019, and the IoT key only for IoT LTSC 2024 / 2021 (the
# page notes that IoT images 10.0.19044.2905 or later are covered by the IoT volume-license page).
WINDOWS_LTSC2024 = {
    "EnterpriseS": "M7XTQ-FN8P6-TTKYV-9D4CC-J462D",
    "EnterpriseSN": "92NFX-8DJQP-P6BBQ-THF9C-7CG2H",
    "IoTEnterpriseS": "KBN8V-HFGQ4-MGXVD-347P6-PDQGT",
}
WINDOWS_LTSC2021 = dict(WINDOWS_LTSC2024)
WINDOWS_LTSC2019 = {
    "EnterpriseS": "M7XTQ-FN8P6-TTKYV-9D4CC-J462D",
    "EnterpriseSN": "92NFX-8DJQP-P6BBQ-THF9C-7CG2H",
}
WINDOWS_LTSB2016 = {
    "EnterpriseS": "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ",
    "EnterpriseSN": "QFFDN-GRT3P-VKWWX-X7T3R-8B639",
}
WINDOWS_LTSB2015 = {
    "EnterpriseS": "WNMTR-4C88C-JK8YV-HQ7T2-76DF9",
    "EnterpriseSN": "2F77B-TNFGY-69QQF-B8YKP-D69TJ",
}
# "Earlier versions of Windows Client". Core (Home), CoreN, CoreSingleLanguage: no published GVLK.
WINDOWS81 = {
    "Professional": "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9",
    "ProfessionalN": "HMCNV-VVBFX-7HMBH-CTY9B-B4FXY",
    "Enterprise": "MHF9N-XY6XB-WVXMC-BTDCT-MKKG7",
    "EnterpriseN": "TT4HM-HN7YT-62K67-RGRQJ-JFFXW",
}
WINDOWS8 = {
    "Professional": "NG4HW-VH26C-733KW-K6F98-J8CK4",
    "ProfessionalN": "XCVCF-2NXM9-723PB-MHCB7-2RYQQ",
    "Enterprise": "32JNW-9KQ84-P47T8-D8GGY-CWCK7",
    "EnterpriseN": "JMNMF-RHW7P-DMY6X-RF3DR-X2BQT",
}
WINDOWS7 = {
    "Professional": "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4",
    "ProfessionalN": "MRPKT-YTG23-K7D7T-X2JMM-QY7MG",
    "ProfessionalE": "W82YF-2Q76Y-63HXB-FGJG9-GF7QX",
    "Enterprise": "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH",
    "EnterpriseN": "YDRBP-3D83W-TY26F-D46B2-XCKRJ",
    "EnterpriseE": "C29WB-22CC8-VJ326-GHFJW-H9DH4",
}

# --- Windows Server ---------------------------------------------------------------------------------
# EditionIDs: ServerSolution = Essentials; ServerTurbine = Datacenter: Azure Edition (MAS' KMS table pairs
# NTBV8-... / XGN3F-... with ServerTurbine); Server 2008 R2's Web/HPC/Itanium editions are ServerWeb,
# ServerHPC, ServerEnterpriseIA64 (MAS docs' KMS EditionID table).
SERVER2025 = {
    "ServerStandard": "TVRH6-WHNXV-R9WG3-9XRFY-MY832",
    "ServerDatacenter": "D764K-2NDRG-47T6Q-P8T8W-YP6DF",
    "ServerTurbine": "XGN3F-F394H-FD2MY-PP6FD-8MCRC",
}
SERVER2022 = {
    "ServerStandard": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
    "ServerDatacenter": "WX4NM-KYWYW-QJJR4-XV3QB-6VM33",
    "ServerTurbine": "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV",
}
SERVER2019 = {
    "ServerStandard": "N69G4-B89J2-4G8F4-WWYCC-J464C",
    "ServerDatacenter": "WMDGN-G9PQG-XVVXX-R3X43-63DFG",
    "ServerSolution": "WVDHN-86M7X-466P6-VHXV7-YY726",
}
SERVER2016 = {
    "ServerStandard": "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY",
    "ServerDatacenter": "CB7KF-BWN84-R7R2Y-793K2-8XDDG",
    "ServerSolution": "JCKRF-N37P4-C2D82-9YXRT-4M63B",
}
# Semi-annual channel (EditionIDs ServerStandardACor / ServerDatacenterACor, Server Core only).
SERVER_SAC = {  # versions 1809, 1903, 1909, 2004, 20H2
    "ServerStandard": "N2KJX-J94YW-TQVFB-DG9YT-724CC",
    "ServerDatacenter": "6NMRW-2C8FM-D24W7-TQWMY-CWH2D",
}
SERVER1803 = {
    "ServerStandard": "PTXN8-JFHJM-4WC78-MPCBR-9W4KR",
    "ServerDatacenter": "2HXDN-KRXHB-GPYC7-YCKFJ-7FVDG",
}
SERVER1709 = {
    "ServerStandard": "DPCNP-XQFKJ-BJF7R-FRC8D-GF6G4",
    "ServerDatacenter": "6Y6KB-N82V8-D8CQV-23MJW-BWTG6",
}
SERVER2012R2 = {
    "ServerStandard": "D2N9P-3P6X9-2R39C-7RTCD-MDVJX",
    "ServerDatacenter": "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9",
    "ServerSolution": "KNC87-3J2TX-XB4WP-VCPJV-M4FWM",
}
SERVER2012 = {
    "ServerStandard": "XC9B7-NBPP2-83J2H-RHMBY-92BT4",
    "ServerMultiPointStandard": "HM7DN-YVMH3-46JC3-XYTG7-CYQJJ",
    "ServerMultiPointPremium": "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G",
    "ServerDatacenter": "48HP8-DN98B-MYWDG-T2DCC-8W83P",
    "ServerSolution": "HTDQM-NBMMG-KGYDT-2DTKT-J2MPV",
}
SERVER2008R2 = {
    "ServerWeb": "6TPJF-RBVHG-WBW2R-86QPH-6RTM4",
    "ServerHPC": "TT8MH-CG224-D3D7Q-498W2-9QCTX",
    "ServerStandard": "YC6KT-GKW9T-YTKYR-T4X34-R7VHC",
    "ServerEnterprise": "489J6-VHDMP-X63PK-3K798-CPX3Y",
    "ServerDatacenter": "74YFP-3QFB3-KQT8W-PMXWJ-7M648",
    "ServerEnterpriseIA64": "GT63C-RJFQ3-4GMB6-BRFB9-CB83V",
}

# --- Office -----------------------------------------------------------------------------------------
# Publisher LTSC 2024 has no GVLK in Microsoft's table (Publisher is retired).
OFFICE2024 = {
    "ProPlus": "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
    "Standard": "V28N4-JG22K-W66P8-VTMGK-H6HGR",
    "ProjectPro": "FQQ23-N4YCY-73HQ3-FM9WC-76HF4",
    "ProjectStd": "PD3TT-NTHQQ-VC7CY-MFXK3-G87F8",
    "VisioPro": "B7TN8-FJ8V3-7QYCP-HQPMV-YY89G",
    "VisioStd": "JMMVY-XFNQC-KK4HK-9H7R3-WQQTV",
    "Access": "82FTR-NCHR7-W3944-MGRHM-JMCWD",
    "Excel": "F4DYN-89BP2-WQTWJ-GR8YC-CKGJG",
    "Outlook": "D2F8D-N3Q3B-J28PV-X27HD-RJWB9",
    "PowerPoint": "CW94N-K6GJH-9CTXY-MG2VC-FYCWP",
    "SkypeForBusiness": "4NKHF-9HBQF-Q3B6C-7YV34-F64P3",
    "Word": "MQ84N-7VYDM-FXV7C-6K7CC-VFW9J",
}
OFFICE2021 = {
    "ProPlus": "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH",
    "Standard": "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3",
    "ProjectPro": "FTNWT-C6WBT-8HMGF-K9PRX-QV9H8",
    "ProjectStd": "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T",
    "VisioPro": "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4",
    "VisioStd": "MJVNY-BYWPY-CWV6J-2RKRT-4M8QG",
    "Access": "WM8YG-YNGDD-4JHDC-PG3F4-FC4T4",
    "Excel": "NWG3X-87C9K-TC7YY-BC2G7-G6RVC",
    "Outlook": "C9FM6-3N72F-HFJXB-TM3V9-T86R9",
    "PowerPoint": "TY7XF-NFRBR-KJ44C-G83KF-GX27K",
    "Publisher": "2MW9D-N4BXM-9VBPG-Q7W6M-KFBGQ",
    "SkypeForBusiness": "HWCXN-K3WBT-WJBKY-R8BD9-XK29P",
    "Word": "TN8H9-M34D3-Y64V9-TR72V-X79KV",
}
OFFICE2019 = {
    "ProPlus": "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
    "Standard": "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK",
    "ProjectPro": "B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B",
    "ProjectStd": "C4F7P-NCP8C-6CQPT-MQHV9-JXD2M",
    "VisioPro": "9BGNQ-K37YR-RQHF2-38RQ3-7VCBB",
    "VisioStd": "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2",
    "Access": "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT",
    "Excel": "TMJWT-YYNMB-3BKTF-644FC-RVXBD",
    "Outlook": "7HD7K-N4PVK-BHBCQ-YWQRW-XW4VK",
    "PowerPoint": "RRNCX-C64HY-W2MM7-MCH9G-TJHMQ",
    "Publisher": "G2KWX-3NW6P-PY93R-JXK2T-C9Y9V",
    "SkypeForBusiness": "NCJ33-JHBBY-HTK98-MYCV8-HMKHJ",
    "Word": "PBX3G-NWMT6-Q7XBW-PYJGG-WXD33",
}
OFFICE2016 = {
    "ProPlus": "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
    "Standard": "JNRGM-WHDWX-FJJG3-K47QV-DRTFM",
    "ProjectPro": "YG9NW-3K39V-2T3HJ-93F3Q-G83KT",
    "ProjectStd": "GNFHQ-F6YQM-KQDGJ-327XX-KQBVC",
    "VisioPro": "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK",
    "VisioStd": "7WHWN-4T7MP-G96JF-G33KR-W8GF4",
    "Access": "GNH9Y-D2J4T-FJHGG-QRVH7-QPFDW",
    "Excel": "9C2PK-NWTVB-JMPW8-BFT28-7FTBF",
    "OneNote": "DR92N-9HTF2-97XKM-XW2WJ-XW3J6",
    "Outlook": "R69KK-NTPKF-7M3Q4-QYBHW-6MT9B",
    "PowerPoint": "J7MQP-HNJ4Y-WJ7YM-PFYGF-BY6C6",
    "Publisher": "F47MM-N3XJP-TQXJ9-BP99D-8K837",
    "SkypeForBusiness": "869NQ-FJ69K-466HW-QYCP2-DDBV6",
    "Word": "WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6",
}
OFFICE2013 = {
    "ProPlus": "YC7DK-G2NP3-2QQC3-J6H88-GVGXT",
    "Standard": "KBKQT-2NMXY-JJWGP-M62JB-92CD4",
    "ProjectPro": "FN8TT-7WMH6-2D4X9-M337T-2342K",
    "ProjectStd": "6NTH3-CW976-3G3Y2-JK3TX-8QHTT",
    "VisioPro": "C2FG9-N6J68-H8BTJ-BW3QX-RM3B3",
    "VisioStd": "J484Y-4NKBF-W2HMG-DBMJC-PGWR7",
    "Access": "NG2JY-H4JBT-HQXYP-78QH9-4JM2D",
    "Excel": "VGPNG-Y7HQW-9RHP7-TKPV3-BG7GB",
    "InfoPath": "DKT8B-N7VXH-D963P-Q4PHY-F8894",
    "Lync": "2MG3G-3BNTT-3MFW9-KDQW3-TCK7R",
    "OneNote": "TGN6P-8MMBC-37P2F-XHXXK-P34VW",
    "Outlook": "QPN8Q-BJBTJ-334K3-93TGY-2PMBT",
    "PowerPoint": "4NT99-8RJFH-Q2VDH-KYG2C-4RD4F",
    "Publisher": "PN2WF-29XG2-T9HJ7-JQPJR-FCXK4",
    "Word": "6Q7VD-NX8JD-WJ2VH-88V73-4GBJ7",
}
# Office 2010: only the rows every copy agrees on (Mondo / Home and Business rows differ between copies).
OFFICE2010 = {
    "ProPlus": "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB",
    "Standard": "V7QKV-4XVVR-XYV4D-F7DFM-8R6BM",
    "ProjectPro": "YGX6F-PGV49-PGW3J-9BTGG-VHKC6",
    "ProjectStd": "4HP3K-88W3F-W2K3D-6677X-F9PGB",
    "VisioPremium": "D9DWC-HPYVV-JGF4P-BTWQB-WX8BJ",
    "VisioPro": "7MCW8-VRQVK-G677T-PDJCM-Q8TCP",
    "VisioStd": "767HD-QGMWX-8QTDB-9G3R2-KHFGJ",
    "Access": "V7Y44-9T38C-R2VJK-666HK-T7DDX",
    "Excel": "H62QG-HXVKF-PP4HP-66KMR-CW9BM",
    "SharePointWorkspace": "QYYW6-QP4CB-MBV6G-HYMCJ-4T3J4",
    "InfoPath": "K96W8-67RPQ-62T9Y-J8FQJ-BT37T",
    "OneNote": "Q4Y4M-RHWJM-PY37F-MTKWH-D3XHX",
    "Outlook": "7YDC2-CWM8M-RRTJC-8MDVC-X3DWQ",
    "PowerPoint": "RC8FX-88JRY-3PF7C-X8P67-P4VTT",
    "Publisher": "BFK7F-9MYHM-V68C7-DRQ66-83YTP",
    "Word": "HVHB3-C6FV7-KQX9W-YQG79-CRY7T",
}

# Product (release) -> EditionID / SKU word -> GVLK, and the page each table comes from. The order is
# the lookup order of gvlk.product_of for keys Microsoft lists under several releases (LTSC 2024/2021/2019).
RAW_TABLES: dict[str, tuple[dict[str, str], str]] = {
    "windows": (WINDOWS, WINDOWS_SOURCE),
    "windows-ltsc2024": (WINDOWS_LTSC2024, WINDOWS_SOURCE),
    "windows-ltsc2021": (WINDOWS_LTSC2021, WINDOWS_SOURCE),
    "windows-ltsc2019": (WINDOWS_LTSC2019, WINDOWS_SOURCE),
    "windows-ltsb2016": (WINDOWS_LTSB2016, WINDOWS_SOURCE),
    "windows-ltsb2015": (WINDOWS_LTSB2015, WINDOWS_SOURCE),
    "windows81": (WINDOWS81, WINDOWS_SOURCE),
    "windows8": (WINDOWS8, WINDOWS_SOURCE),
    "windows7": (WINDOWS7, WINDOWS_SOURCE),
    "server2025": (SERVER2025, WINDOWS_SOURCE),
    "server2022": (SERVER2022, WINDOWS_SOURCE),
    "server2019": (SERVER2019, WINDOWS_SOURCE),
    "server2016": (SERVER2016, WINDOWS_SOURCE),
    "server-sac": (SERVER_SAC, WINDOWS_SOURCE),
    "server1803": (SERVER1803, WINDOWS_SOURCE),
    "server1709": (SERVER1709, WINDOWS_SOURCE),
    "server2012r2": (SERVER2012R2, WINDOWS_SOURCE),
    "server2012": (SERVER2012, WINDOWS_SOURCE),
    "server2008r2": (SERVER2008R2, WINDOWS_SOURCE),
    "office2024": (OFFICE2024, OFFICE_SOURCE),
    "office2021": (OFFICE2021, OFFICE_SOURCE),
    "office2019": (OFFICE2019, OFFICE_SOURCE),
    "office2016": (OFFICE2016, OFFICE_SOURCE),
    "office2013": (OFFICE2013, OFFICE2013_SOURCE),
    "office2010": (OFFICE2010, OFFICE2010_SOURCE),
}
